"""Tools for trainers: check the NLU data, harvest real messages from the archive, evaluate.

``python -m bot nlu check|harvest|evaluate``; nothing heavy is imported by this package itself.
"""
