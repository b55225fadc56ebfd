"""The staff app's pages, one module per part; each has ``register(app, ctx)``.

``ctx`` is a :class:`bot.staff.routes.context.Context` that :func:`bot.staff.app.create_app`
builds once: rendering, running blocking work off the event loop, the database, the words in
the UI language and the municipality's profile.
"""
