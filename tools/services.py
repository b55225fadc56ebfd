"""Throw-away PostgreSQL and Redis servers for the tests, on loopback, under ``var/services/``.

Run as a command (``make services`` and ``.ci/run`` do)::

    .venv/bin/python -m tools.services start    # install from Debian's packages if missing, start both
    .venv/bin/python -m tools.services env      # print TEST_POSTGRES_URL=... and TEST_REDIS_URL=...
    .venv/bin/python -m tools.services status
    .venv/bin/python -m tools.services stop

or from Python (the fixtures in ``tests/conftest.py``, the multi-server and fault tests)::

    from tools import services
    urls = services.start()                    # idempotent; returns the URLs
    url = services.create_database("t_abc")    # an empty database of its own; drop_database(url)
    services.stop_postgres(); services.start_postgres()   # a database outage

PostgreSQL refuses to run as root, so when we are root the cluster belongs to the ``postgres``
user (created by Debian's package) and its commands run through ``runuser`` (see ``postgres_dir``
for a checkout that user cannot reach). The cluster trusts
connections from 127.0.0.1 only and runs without fsync: it holds nothing worth keeping. The ports
are chosen free at the first start and kept in ``var/services/services.json``, so each worktree or
clone has servers of its own.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVICES_DIR = PROJECT_ROOT / "var" / "services"
STATE_FILE = SERVICES_DIR / "services.json"
REDIS_DIR = SERVICES_DIR / "redis"
REDIS_LOG = REDIS_DIR / "redis.log"
REDIS_PIDFILE = REDIS_DIR / "redis.pid"
POSTGRES_USER = "assistant"
POSTGRES_DATABASE = "assistant"
DEBIAN_PACKAGES = ("postgresql", "redis-server")
# Settings of a cluster that only tests use: nothing to keep, so nothing is synced to disk.
POSTGRES_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "unix_socket_directories": "''",  # TCP on loopback only (a socket path can be too long)
}


class ServicesError(RuntimeError):
    """PostgreSQL or Redis cannot be installed or started; the message says why."""


@dataclass(frozen=True)
class ServiceUrls:
    """Where the test servers listen."""

    postgres: str
    redis: str

    def environment(self) -> Dict[str, str]:
        """The variables the tests read: ``TEST_POSTGRES_URL`` and ``TEST_REDIS_URL``."""
        return {"TEST_POSTGRES_URL": self.postgres, "TEST_REDIS_URL": self.redis}


# ------------------------------------------------------------------------------------------
# Ports and state
# ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ports() -> Dict[str, int]:
    """Returns the ports of this checkout's servers, choosing and saving them the first time."""
    if STATE_FILE.exists():
        state = json.loads(STATE_FILE.read_text())
        return {"postgres": int(state["postgres_port"]), "redis": int(state["redis_port"])}
    ports = {"postgres": _free_port(), "redis": _free_port()}
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps({"postgres_port": ports["postgres"], "redis_port": ports["redis"]}) + "\n")
    return ports


def urls() -> ServiceUrls:
    """Returns the URLs of this checkout's test servers (whether they run or not)."""
    ports = _ports()
    return ServiceUrls(
        postgres=f"postgresql://{POSTGRES_USER}@127.0.0.1:{ports['postgres']}/{POSTGRES_DATABASE}",
        redis=f"redis://127.0.0.1:{ports['redis']}/0",
    )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------------------------------
# Installation
# ------------------------------------------------------------------------------------------


def _postgres_bindir() -> Optional[Path]:
    """Returns the newest installed PostgreSQL's bin folder (Debian keeps them per version)."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def install_if_missing() -> None:
    """Installs PostgreSQL and Redis from Debian's packages when either is missing.

    Raises:
        ServicesError: a server is missing and cannot be installed here (not root, no apt-get).
    """
    missing = []
    if _postgres_bindir() is None:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ServicesError(
            f"{' and '.join(missing)} not installed; install them (e.g. 'sudo apt-get install -y "
            f"{' '.join(DEBIAN_PACKAGES)}') or run the tests as root on Debian, which installs them."
        )
    print(f"Installing {', '.join(missing)} from Debian's packages ...", flush=True)
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=environment,
                   stdout=subprocess.DEVNULL)


# ------------------------------------------------------------------------------------------
# PostgreSQL
# ------------------------------------------------------------------------------------------


def postgres_dir() -> Path:
    """The cluster's folder: ``var/services/postgres``, unless the ``postgres`` user cannot reach it.

    When we are root the cluster belongs to ``postgres``, which needs to pass through every folder
    above it; a checkout under ``/root`` does not allow that, so the cluster goes to ``/var/tmp``.
    """
    inside = SERVICES_DIR / "postgres"
    if os.geteuid() != 0:
        return inside
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    reachable = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(SERVICES_DIR)],
                               check=False).returncode == 0
    if reachable:
        return inside
    import hashlib

    return Path("/var/tmp") / f"citizen-assistant-postgres-{hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest()[:10]}"


def _as_owner(command: List[str]) -> List[str]:
    """Runs PostgreSQL's commands as ``postgres`` when we are root (it refuses to run as root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _owner_ids() -> Optional[tuple]:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as error:
        raise ServicesError("running as root, but there is no 'postgres' user to own the cluster") from error
    return entry.pw_uid, entry.pw_gid


def _pg(tool: str) -> str:
    bindir = _postgres_bindir()
    if bindir is None:
        raise ServicesError("PostgreSQL is not installed (python -m tools.services start installs it)")
    return str(bindir / tool)


def _initdb() -> None:
    folder = postgres_dir()
    data = folder / "data"
    if (data / "PG_VERSION").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    owner = _owner_ids()
    if owner:
        os.chown(folder, *owner)
    subprocess.run(
        _as_owner([_pg("initdb"), "-D", str(data), "-U", POSTGRES_USER, "--auth=trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"]),
        check=True, stdout=subprocess.DEVNULL, cwd="/",
    )
    settings = "".join(f"{key} = {value}\n" for key, value in POSTGRES_SETTINGS.items())
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n# tools/services.py: a throw-away cluster on loopback\n" + settings)


def postgres_running() -> bool:
    """Returns whether this checkout's PostgreSQL accepts connections."""
    port = _ports()["postgres"]
    if not _listening(port):
        return False
    result = subprocess.run([_pg("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)], check=False)
    return result.returncode == 0


def start_postgres(timeout: float = 60) -> str:
    """Starts this checkout's PostgreSQL (creating the cluster the first time); returns its URL."""
    install_if_missing()
    _initdb()
    port = _ports()["postgres"]
    if not postgres_running():
        if _listening(port):
            raise ServicesError(f"port {port} is taken by another program; delete {STATE_FILE} to choose anew")
        log = postgres_dir() / "postgres.log"
        log.touch()
        owner = _owner_ids()
        if owner:
            os.chown(log, *owner)
        result = subprocess.run(
            _as_owner([_pg("pg_ctl"), "-D", str(postgres_dir() / "data"), "-l", str(log), "-w",
                       "-t", str(int(timeout)), "-o", f"-p {port}", "start"]),
            check=False, capture_output=True, text=True, cwd="/",
        )
        if result.returncode != 0 or not postgres_running():
            raise ServicesError(
                f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n{_tail(log)}"
            )
    _ensure_main_database()
    return urls().postgres


def restart_postgres() -> None:
    """Restarts this checkout's PostgreSQL (every client connection is cut), as an upgrade would."""
    stop_postgres()
    start_postgres()


def _ensure_main_database() -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=_ports()["postgres"], user=POSTGRES_USER,
                                  dbname="postgres", connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (POSTGRES_DATABASE,))
            exists = cursor.fetchone() is not None
    finally:
        connection.close()
    if not exists:
        _admin_execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')


def stop_postgres(mode: str = "fast") -> None:
    """Stops this checkout's PostgreSQL (``mode``: smart, fast or immediate, as in ``pg_ctl``)."""
    data = postgres_dir() / "data"
    if not (data / "postmaster.pid").exists():
        return
    subprocess.run(_as_owner([_pg("pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"]),
                   check=False, capture_output=True, cwd="/")


def _admin_execute(statement: str, server_url: Optional[str] = None) -> None:
    """Runs one statement in the maintenance database ``postgres`` (outside a transaction)."""
    import psycopg2
    from sqlalchemy.engine import make_url

    server = make_url(server_url or urls().postgres)
    connection = psycopg2.connect(host=server.host, port=server.port, user=server.username,
                                  password=server.password, dbname="postgres", connect_timeout=5)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create_database(name: str, server_url: Optional[str] = None, template: str = "template0") -> str:
    """Creates a database ``name`` (dropping an old one) and returns its URL.

    Args:
        name: letters, digits and underscores.
        server_url: any database URL on the server to use; default this checkout's server.
        template: the database to copy; by default an empty one.
    """
    from sqlalchemy.engine import make_url

    if not name.replace("_", "").isalnum():
        raise ValueError(f"database names here are letters, digits and underscores, got {name!r}")
    url = str(make_url(server_url or urls().postgres).set(database=name))
    drop_database(url)
    _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"', url)
    return url


def drop_database(url: str) -> None:
    """Drops the database of ``url`` if it exists, disconnecting whoever still uses it."""
    from sqlalchemy.engine import make_url

    _admin_execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)', url)


# ------------------------------------------------------------------------------------------
# Redis
# ------------------------------------------------------------------------------------------


def redis_running() -> bool:
    """Returns whether this checkout's Redis answers PING."""
    port = _ports()["redis"]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(timeout: float = 20) -> str:
    """Starts this checkout's Redis (no persistence, loopback only); returns its URL."""
    install_if_missing()
    port = _ports()["redis"]
    if not redis_running():
        if _listening(port):
            raise ServicesError(f"port {port} is taken by another program; delete {STATE_FILE} to choose anew")
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
             "--daemonize", "yes", "--pidfile", str(REDIS_PIDFILE), "--logfile", str(REDIS_LOG),
             "--dir", str(REDIS_DIR), "--save", "", "--appendonly", "no"],
            check=True,
        )
        deadline = time.monotonic() + timeout
        while not redis_running():
            if time.monotonic() > deadline:
                raise ServicesError(f"Redis did not start within {timeout} s:\n{_tail(REDIS_LOG)}")
            time.sleep(0.1)
    return urls().redis


def stop_redis(timeout: float = 20) -> None:
    """Stops this checkout's Redis and waits until its port is closed."""
    if not REDIS_PIDFILE.exists():
        return
    try:
        os.kill(int(REDIS_PIDFILE.read_text().strip()), 15)
    except (ValueError, ProcessLookupError):
        REDIS_PIDFILE.unlink(missing_ok=True)
        return
    deadline = time.monotonic() + timeout
    while _listening(_ports()["redis"]) and time.monotonic() < deadline:
        time.sleep(0.1)


# ------------------------------------------------------------------------------------------
# Both
# ------------------------------------------------------------------------------------------


def start() -> ServiceUrls:
    """Installs what is missing and starts both servers (nothing happens to running ones)."""
    install_if_missing()
    start_postgres()
    start_redis()
    return urls()


def stop() -> None:
    """Stops both servers (the cluster's files stay for the next start)."""
    stop_redis()
    stop_postgres()


def running() -> bool:
    """Returns whether both servers answer."""
    return STATE_FILE.exists() and _postgres_bindir() is not None and postgres_running() and redis_running()


def _tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else ""


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m tools.services start|stop|status|env``."""
    parser = argparse.ArgumentParser(prog="python -m tools.services", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("start", "stop", "status", "env"))
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            for name, value in start().environment().items():
                print(f"{name}={value}")
        elif args.command == "stop":
            stop()
            print("PostgreSQL and Redis for the tests are stopped.")
        elif args.command == "env":
            for name, value in urls().environment().items():
                print(f"export {name}={value}")
        else:
            state = {"PostgreSQL": postgres_running() if _postgres_bindir() else False, "Redis": redis_running()}
            for name, up in state.items():
                print(f"{name}: {'running' if up else 'stopped'}")
            return 0 if all(state.values()) else 1
    except (ServicesError, subprocess.CalledProcessError) as error:
        print(f"tools.services: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
