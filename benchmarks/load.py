"""Load on the REST channel: our assistant on one and on two Rasa servers, against Rasa's starter bot.

In one run, each on loopback and on free ports:

* **one server**: ``make run`` as a citizen's municipality would run it (Rasa server, action
  server, staff app; SQLite under a temporary data directory; the archive broker on);
* **two servers**: two Rasa servers and one action server sharing one PostgreSQL database
  (tracker store and archive) and Redis (Rasa's lock store), started by ``ScaledAssistant``
  (``tests/e2e/cluster.py``), the client sending each message to the next server in turn (round
  robin, so one conversation's messages alternate between the servers); and, as its baseline, the
  same setup with one Rasa server. PostgreSQL and Redis come from ``tools/services.py`` (Debian's
  packages, on loopback); skipped with a note when they cannot be started;
* **Rasa's starter bot**: ``rasa init --no-prompt`` in a temporary folder (trained there), run
  with ``rasa run``, the reference measured on the same machine at the same time.

For each: sequential latency (one client, one message at a time), then throughput and p50/p95
latency with ``--clients`` concurrent clients working through ``--conversations`` conversations
of ``--messages`` messages each (a conversation's messages are sent one after the other, as a
citizen would). For ours, the archive must then hold exactly the citizen messages sent, per
conversation. Prints a table and the ratios against the goals (ours/starter throughput ≥ 0.90,
two servers/one server ≥ 1.6 where the cores allow).

    .venv/bin/python benchmarks/load.py                       # defaults: a few minutes
    .venv/bin/python benchmarks/load.py --conversations 64 --messages 8 --clients 16
    .venv/bin/python benchmarks/load.py --skip two --starter-dir /tmp/starter   # reuse a trained starter

The client is plain asyncio + aiohttp (already pinned by Rasa), not Locust: Locust cannot share
Rasa's pins, and this run also starts and stops the servers, checks the archive and compares three
systems in one process, which a Locust file would have to do around Locust anyway.
Everything is bounded: a fixed number of messages, a timeout per request and for the whole run.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import requests  # noqa: E402

from tests.e2e.assistant import RunningAssistant, free_port  # noqa: E402

TUESDAY_MORNING = "2026-11-17T10:00:00+01:00"  # the desk is open: the usual daytime dialogue
REQUEST_TIMEOUT = 120  # seconds for one message
PYTHON = sys.executable

# What citizens write, per language: greetings, hours, contact, services, thanks (no handoffs, which
# would pause nothing but add queue rows; those paths are covered by the end-to-end tests).
SCRIPTS = {
    "nn": ["hei", "kva tid har de ope i dag?", "korleis kan eg kontakte kommunen?",
           "når er biblioteket ope?", "kva kostar det å ta med hund på bussen?", "takk for hjelpa", "ha det bra"],
    "nb": ["hei", "når har dere åpent i dag?", "hvordan kan jeg kontakte kommunen?",
           "når er biblioteket åpent?", "hvordan søker jeg om barnehageplass?", "takk for hjelpen", "ha det"],
    "sv": ["hej", "när har ni öppet i dag?", "hur kontaktar jag kommunen?",
           "när har biblioteket öppet?", "hur ansöker jag om förskoleplats?", "tack för hjälpen", "hej då"],
}
# The starter bot's own stories: every message here gets an answer (greet, mood, bot challenge, cheer up).
STARTER_SCRIPT = ["hello", "I am feeling great", "are you a bot?", "I am sad", "yes", "goodbye"]


# ------------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    """Latencies (seconds) of the answered messages, failures, and the wall time of a phase."""

    latencies: List[float] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)
    unanswered: int = 0  # answered with an empty list (200 [])
    seconds: float = 0.0

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")


@dataclass
class Result:
    """One system's figures."""

    name: str
    key: str = ""
    sequential: Optional[Measured] = None
    concurrent: Optional[Measured] = None
    archive: str = "—"
    note: str = ""


class Target:
    """Where the messages go: one or more REST webhooks, used in turn (round robin)."""

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = [f"{u}/webhooks/rest/webhook" for u in urls]
        self._next = itertools.cycle(range(len(self.urls)))
        self.sent: Dict[str, int] = {}

    async def send(self, session: aiohttp.ClientSession, sender: str, text: str, measured: Measured) -> None:
        url = self.urls[next(self._next)]
        started = time.perf_counter()
        try:
            async with session.post(url, json={"sender": sender, "message": text},
                                    timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as response:
                body = await response.json(content_type=None)
                ok = response.status == 200 and isinstance(body, list)
                detail = f"{response.status} {str(body)[:80]}"
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            ok, detail = False, f"{type(error).__name__}: {error}"
        elapsed = time.perf_counter() - started
        # The request reached a server either way, so it counts as sent for the archive check.
        self.sent[sender] = self.sent.get(sender, 0) + 1
        if ok:
            measured.latencies.append(elapsed)
            measured.unanswered += 0 if body else 1
        else:
            measured.failures.append(f"{sender}: {detail}")


def conversations(prefix: str, count: int, messages: int, scripts: Sequence[Sequence[str]]) -> List[tuple]:
    """``count`` conversations of ``messages`` messages each, cycling through the scripts."""
    plans = []
    for index in range(count):
        script = scripts[index % len(scripts)]
        plans.append((f"{prefix}-{index:04d}", [script[i % len(script)] for i in range(messages)]))
    return plans


async def run_phase(target: Target, plans: List[tuple], clients: int) -> Measured:
    """Works through the conversations with ``clients`` concurrent clients."""
    measured = Measured()
    queue: asyncio.Queue = asyncio.Queue()
    for plan in plans:
        queue.put_nowait(plan)
    connector = aiohttp.TCPConnector(limit=clients * 2)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while not queue.empty():
                sender, texts = queue.get_nowait()
                for text in texts:
                    await target.send(session, sender, text, measured)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        measured.seconds = time.perf_counter() - started
    return measured


def measure(target: Target, prefix: str, scripts, args) -> Result:
    """Warm-up, the sequential phase and the concurrent phase against one target."""
    result = Result(prefix, key=prefix)
    asyncio.run(run_phase(target, conversations(f"{prefix}-warm", 2, 3, scripts), 1))
    result.sequential = asyncio.run(
        run_phase(target, conversations(f"{prefix}-seq", args.sequential_conversations, args.messages, scripts), 1)
    )
    result.concurrent = asyncio.run(
        run_phase(target, conversations(f"{prefix}-load", args.conversations, args.messages, scripts), args.clients)
    )
    return result


def archive_check(database_url: str, sent: Dict[str, int]) -> str:
    """Compares the citizen messages in the archive with what was sent, per conversation."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT conversation_id, count(*) FROM archive_records WHERE kind = 'citizen_message' "
                "GROUP BY conversation_id"
            )).all()
    finally:
        engine.dispose()
    archived = {conversation: count for conversation, count in rows if conversation in sent}
    wrong = {c: (n, archived.get(c, 0)) for c, n in sent.items() if archived.get(c, 0) != n}
    extra = sum(count for conversation, count in rows if conversation not in sent)
    total = sum(sent.values())
    if wrong or extra:
        sample = ", ".join(f"{c}: sent {n}, archived {a}" for c, (n, a) in list(wrong.items())[:3])
        return f"MISMATCH in {len(wrong)} of {len(sent)} conversations ({sample}); {extra} unexpected"
    return f"exact: {total} in {len(sent)} conversations"


# ------------------------------------------------------------------------------------------------
# The systems
# ------------------------------------------------------------------------------------------------


def ours_one(args, work: Path) -> Result:
    assistant = RunningAssistant(work / "one", MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING, LOG_LEVEL="WARNING")
    print("Starting our assistant (make run, SQLite) ...", flush=True)
    assistant.start()
    try:
        target = Target([assistant.url])
        result = measure(target, "one", list(SCRIPTS.values()), args)
        result.name = "ours, 1 server (SQLite)"
        result.archive = archive_check(f"sqlite:///{assistant.data_dir / 'archive.db'}", target.sent)
        return result
    finally:
        assistant.stop()


def ours_scaled(args, work: Path, servers: int) -> Result:
    """``servers`` Rasa servers and one action server sharing PostgreSQL and Redis (tests/e2e/cluster.py)."""
    name = f"ours, {servers} server{'s' if servers > 1 else ''} (PostgreSQL + Redis)"
    key = "two" if servers > 1 else "one-pg"
    try:
        from tools import services
        from tests.e2e.cluster import ScaledAssistant
    except ImportError as error:
        return Result(name, key, note=f"skipped: the scale-out test helpers are not there ({error})")
    try:
        already_running = services.running()
        urls = services.start()
        database_url = services.create_database(f"bench_load_{servers}_{os.getpid()}")
    except Exception as error:  # noqa: BLE001 - any reason is reported and the rest still runs
        return Result(name, key, note=f"skipped: PostgreSQL/Redis could not be started: {error}")
    cluster = ScaledAssistant(work / f"scaled-{servers}", database_url, urls.redis, rasa_servers=servers,
                              MUNICIPALITY="saltvika", BOT_CLOCK=TUESDAY_MORNING, LOG_LEVEL="WARNING")
    print(f"Starting {servers} Rasa server(s) and an action server on PostgreSQL + Redis ...", flush=True)
    try:
        cluster.start()
        # Round robin per message: one conversation's messages alternate between the servers.
        target = Target(cluster.urls)
        result = measure(target, key, list(SCRIPTS.values()), args)
        result.name = name
        result.archive = archive_check(database_url, target.sent)
        return result
    finally:
        cluster.stop()
        try:
            services.drop_database(database_url)
        except Exception as error:  # noqa: BLE001
            print(f"(the benchmark database could not be dropped: {error})")
        if not already_running:  # leave the machine as it was
            services.stop()


class StarterBot:
    """Rasa's starter bot (``rasa init --no-prompt``), trained in its folder, run on a free port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        if list((self.folder / "models").glob("*.tar.gz")):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        print(f"Creating and training Rasa's starter bot in {self.folder} (rasa init --no-prompt) ...", flush=True)
        subprocess.run([PYTHON, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(self.folder)],
                       cwd=self.folder, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                       env=dict(os.environ, RASA_TELEMETRY_ENABLED="false"), timeout=1200)

    def start(self, timeout: float = 300) -> None:
        log = (self.folder / "rasa-run.log").open("wb")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "rasa", "run", "--enable-api", "--interface", "127.0.0.1", "--port", str(self.port)],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, RASA_TELEMETRY_ENABLED="false"),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the starter bot stopped; see {self.folder / 'rasa-run.log'}")
            try:
                if requests.get(f"{self.url}/status", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise TimeoutError("the starter bot did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def starter(args, work: Path) -> Result:
    bot = StarterBot(Path(args.starter_dir) if args.starter_dir else work / "starter")
    bot.prepare()
    print("Starting Rasa's starter bot ...", flush=True)
    bot.start()
    try:
        result = measure(Target([bot.url]), "starter", [STARTER_SCRIPT], args)
        result.name = "Rasa starter bot (rasa init)"
        result.note = "in-memory tracker store, no actions, no archive"
        return result
    finally:
        bot.stop()


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def ms(value: float) -> str:
    return "—" if value != value else f"{value * 1000:.0f} ms"


def report(results: List[Result], args) -> None:
    print()
    print(f"{args.conversations} conversations × {args.messages} messages with {args.clients} concurrent clients; "
          f"sequential: {args.sequential_conversations} × {args.messages}. "
          f"CPU cores: {os.cpu_count()}, load average before: {args.load_before}")
    header = ("system", "seq p50", "msg/s", "p50", "p95", "failed", "no reply", "archive")
    rows = []
    for r in results:
        if r.concurrent is None:
            rows.append((r.name, "—", "—", "—", "—", "—", "—", r.note))
            continue
        failed = len(r.concurrent.failures) + len(r.sequential.failures)
        rows.append((r.name, ms(r.sequential.quantile(0.5)), f"{r.concurrent.throughput:.1f}",
                     ms(r.concurrent.quantile(0.5)), ms(r.concurrent.quantile(0.95)), str(failed),
                     str(r.concurrent.unanswered + r.sequential.unanswered),
                     r.archive if r.archive != "—" else r.note))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    for r in results:
        failures = (r.sequential.failures if r.sequential else []) + (r.concurrent.failures if r.concurrent else [])
        for failure in failures[:3]:
            print(f"  failure ({r.name}): {failure}")
    by = {r.key: r for r in results if r.concurrent and r.concurrent.latencies}
    one, one_pg, two, ref = by.get("one"), by.get("one-pg"), by.get("two"), by.get("starter")
    print()
    if one and ref:
        ratio = one.concurrent.throughput / ref.concurrent.throughput
        print(f"ours (1 server) / starter bot throughput: {ratio:.2f}  "
              f"(goal ≥ 0.90: {'met' if ratio >= 0.9 else 'NOT met'})")
    cores = os.cpu_count() or 1
    for base, label in ((one_pg, "1 server, PostgreSQL + Redis"), (one, "1 server, SQLite")):
        if base and two:
            ratio = two.concurrent.throughput / base.concurrent.throughput
            print(f"2 servers / {label} throughput: {ratio:.2f}  (goal ≥ 1.6 where the cores allow: "
                  f"{'met' if ratio >= 1.6 else 'NOT met'})")
    if two:
        print(f"This machine has {cores} CPU cores for the load client, the Rasa servers, the action server "
              f"and PostgreSQL/Redis together: a second Rasa server can only use what the others leave of them, "
              f"so the ratio says little about a machine with a core per server.")
    print("Figures are noisy on a shared machine; run again with: make bench-load "
          "(or .venv/bin/python benchmarks/load.py --help for the options)")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=32, help="conversations in the concurrent phase (32)")
    parser.add_argument("--messages", type=int, default=6, help="messages per conversation (6)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--sequential-conversations", type=int, default=4,
                        help="conversations in the sequential phase (4)")
    parser.add_argument("--skip", action="append", default=[], choices=["one", "two", "starter"],
                        help="leave a system out (repeatable); 'two' also leaves out its 1-server baseline")
    parser.add_argument("--starter-dir", help="folder for the starter bot; reused if it holds a trained model")
    parser.add_argument("--max-seconds", type=int, default=1800, help="stop the whole run after this long (1800)")
    args = parser.parse_args(argv)
    if min(args.conversations, args.messages, args.clients, args.sequential_conversations) < 1:
        parser.error("counts must be at least 1")
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())

    def out_of_time(*_: object) -> None:
        raise TimeoutError(f"the benchmark ran longer than {args.max_seconds} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(args.max_seconds)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    systems: List[Callable] = [f for key, f in (
        ("starter", starter), ("one", ours_one),
        ("two", lambda a, w: ours_scaled(a, w, 1)), ("two", lambda a, w: ours_scaled(a, w, 2)),
    ) if key not in args.skip]
    results = []
    try:
        for system in systems:
            results.append(system(args, work))
    finally:
        signal.alarm(0)
        shutil.rmtree(work, ignore_errors=True)
        if results:
            report(results, args)
    failed = any(r.concurrent and (r.concurrent.failures or r.sequential.failures) for r in results)
    mismatched = any(r.archive.startswith("MISMATCH") for r in results)
    return 1 if failed or mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
