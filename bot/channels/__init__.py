"""Input channels of our own (served by the Rasa server under /webhooks/<name>/).

Importing this package registers what is channel-specific with the layers below it, such as
Messenger's 7-day window for staff replies (:mod:`bot.handoff.reply_checks`). Whoever replies to
handoffs outside the Rasa server (the staff app, the command line) imports it for that.
"""
from bot.channels import messenger  # noqa: F401  (registers its reply window; needs no Rasa)
