"""``python -m bot.ops.rasa_launch run ...``: Rasa's own command line, with its HTTP API always authenticated.

Rasa serves its HTTP API (trackers, events, the model) only with ``--enable-api``, and then
without any check unless given ``--auth-token`` (which clients must send in the URL) or
``--jwt-secret`` (tokens in the ``Authorization`` header). The secret must not appear on a command
line, where every user of the machine can read it (``ps``, ``/proc/<pid>/cmdline``), so this
launcher reads it from ``RASA_JWT_SECRET`` and hands it to Rasa's argument parser inside the
process. Without a secret, ``--enable-api`` is refused, so the API is never served open.
"""
from __future__ import annotations

import os
import sys
from typing import List, Sequence

JWT_METHOD = "HS256"


class OpenApiRefused(SystemExit):
    """``--enable-api`` without a secret to protect it."""


def rasa_arguments(arguments: Sequence[str], secret: str) -> List[str]:
    """Rasa's arguments with the JWT secret added when the API is enabled.

    Raises:
        OpenApiRefused: the API is asked for without a secret, or with Rasa's URL token.
    """
    arguments = list(arguments)
    if "--auth-token" in arguments or any(a.startswith("--auth-token=") for a in arguments):
        raise OpenApiRefused("--auth-token puts the secret in every URL; set RASA_JWT_SECRET instead")
    if "--enable-api" not in arguments:
        return arguments
    if not secret:
        raise OpenApiRefused("--enable-api needs RASA_JWT_SECRET, so that the HTTP API is never open")
    # "--jwt-secret=…" in one piece: a secret may start with "-", which argparse would take for an option.
    return [*arguments, f"--jwt-secret={secret}", "--jwt-method", JWT_METHOD]


def main(argv: Sequence[str] | None = None) -> None:
    """Runs Rasa's command line (``rasa run ...``) with the secret from the environment."""
    from rasa.__main__ import main as rasa_main

    os.umask(0o077)  # the tracker store and the spool hold citizens' messages: owner only
    arguments = rasa_arguments(sys.argv[1:] if argv is None else argv, os.environ.get("RASA_JWT_SECRET", "").strip())
    sys.argv = ["rasa", *arguments]
    rasa_main()


if __name__ == "__main__":
    main()
