"""Free TCP ports on loopback for the servers the tests start (one definition for every folder)."""
from __future__ import annotations

import socket


def free_port() -> int:
    """Returns a TCP port that is free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
