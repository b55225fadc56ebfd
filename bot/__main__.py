"""``python -m bot``: the one command-line entry point for operator tasks."""
import sys

from bot.cli import main

sys.exit(main())
