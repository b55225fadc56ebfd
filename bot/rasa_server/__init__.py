"""The Rasa server's side of the project: the archive's event broker, the tracker store and the
patches of Rasa's internals (:func:`install`, listed in ``bot/rasa_server/patches/__init__.py``)."""
from bot.rasa_server.patches import install

__all__ = ["install"]
