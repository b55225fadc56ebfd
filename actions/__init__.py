"""Rasa SDK actions: thin calls into the ``bot`` package, one module per feature."""
