"""``python -m bot``: the one command-line entry point for operator tasks."""
import os
import sys

from bot.ops.cli import main

# Everything this process and the servers it starts create (SQLite files, the spool, exports,
# reports, logs) is readable by its owner only: it holds citizens' messages.
os.umask(0o077)
sys.exit(main())
