"""``python -m bot``: operator tasks, one subcommand each."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import List, Optional

from bot.core.config import SettingsError, get_settings
from bot.core.languages import LANGUAGES


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.ops.run import run_servers

    return run_servers(only=args.only)


def _process_names(raw: str) -> List[str]:
    from bot.ops.run import PROCESSES

    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in PROCESSES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"choose from {', '.join(PROCESSES)} (comma-separated), got {raw!r}")
    return names


def _cmd_train(args: argparse.Namespace) -> int:
    from bot.ops.model import train

    print(train(force=args.force))
    return 0


def _cmd_model_path(args: argparse.Namespace) -> int:
    from bot.ops.model import model_path

    print(model_path())
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from bot.ops.chat import chat

    url = args.url or f"http://localhost:{get_settings().rasa_port}/webhooks/rest/webhook"
    return chat(url, sender=args.sender)


def _cmd_profile_check(args: argparse.Namespace) -> int:
    from bot.municipality import load_municipality

    settings = get_settings()
    ids = args.ids or sorted(p.stem for p in settings.municipalities_dir.glob("*.yml"))
    for municipality_id in ids:
        municipality = load_municipality(municipality_id)
        print(f"{municipality_id}: ok ({municipality.name_in(municipality.default_language)})")
    return 0


def _print_handoffs(views, as_json: bool) -> None:
    if as_json:
        print(json.dumps([v.as_dict() for v in views], ensure_ascii=False, indent=2))
        return
    if not views:
        print("No handoffs.")
    for v in views:
        print(f"{v.id:>5}  {v.status:<9} {v.reason:<16} {v.language or '-':<3} {v.channel or '-':<10} "
              f"due {v.due_at} ({v.deadline})  {v.conversation_id}")


def _cmd_handoffs_list(args: argparse.Namespace) -> int:
    from bot.handoff.queue import list_handoffs

    _print_handoffs(list_handoffs(args.status), args.json)
    return 0


def _cmd_handoffs_show(args: argparse.Namespace) -> int:
    from bot.handoff.queue import show_handoff

    view = show_handoff(args.id)
    if args.json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
        return 0
    print(f"Handoff {view['id']}: {view['reason']}, {view['status']}, language {view['language']}, "
          f"channel {view['channel']}, due {view['due_at']} ({view['deadline']})")
    for event in view["events"]:
        print(f"  {event['at']}  {event['status']:<9} {event['actor']}")
    print("Transcript (personal data masked):")
    for line in view["transcript"]:
        print(f"  {line['seq']:>3} {line['at']}  {line['kind']:<16} {line['sender'] or '':<12} {line['text'] or ''}")
    return 0


def _cmd_handoffs_change(args: argparse.Namespace) -> int:
    import bot.channels  # noqa: F401  (the channels register their limits on staff replies)
    from bot.handoff import queue

    if args.action == "reply":
        view = queue.reply(args.id, args.by, " ".join(args.text))
    else:
        view = getattr(queue, args.action)(args.id, args.by)
    _print_handoffs([view], as_json=False)
    return 0


def _cmd_archive_migrate(args: argparse.Namespace) -> int:
    from bot.storage.db import database_url, upgrade

    upgrade()
    print(f"The archive schema is up to date ({database_url().split('@')[-1]}).")
    return 0


def _date(value: str):
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-21") from error


def _share(value: str) -> float:
    try:
        number = float(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number like 0.6") from error
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return number


def _cmd_archive_export(args: argparse.Namespace) -> int:
    from bot.archive.export import export

    summary = export(args.from_date, args.to_date, Path(args.out), args.format,
                     schema_dir=Path(args.schemas) if args.schemas else None)
    print("\n".join(summary.lines()))
    return 0


def _cmd_archive_verify(args: argparse.Namespace) -> int:
    from bot.archive.verify import verify

    report = verify(Path(args.dir))
    print("\n".join(report.lines()))
    return report.exit_status


def _cmd_archive_purge(args: argparse.Namespace) -> int:
    from bot.ops.retention import purge

    summary = purge(args.before, args.by, dry_run=args.dry_run)
    print("\n".join(summary.lines()))
    return 0


def _municipality(args: argparse.Namespace) -> str:
    return args.municipality or get_settings().municipality


def _cmd_content_ingest(args: argparse.Namespace) -> int:
    from bot.content.ingest import ingest

    summary = ingest(args.source, _municipality(args), show_progress=sys.stderr.isatty())
    print("\n".join(summary.lines()))
    return 0


def _cmd_content_search(args: argparse.Namespace) -> int:
    from bot.content.search import search

    hits = search(args.query, _municipality(args), args.lang, top_k=args.top)
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    for rank, hit in enumerate(hits, 1):
        print(f"{rank}. {hit.score:.3f}  {hit.title} – {hit.heading or ''}\n   {hit.url}\n   {hit.text[:200]}")
    if not hits:
        print("No passages.")
    return 0


def _cmd_content_answer(args: argparse.Namespace) -> int:
    from bot.content.answer import answer

    decision = answer(args.question, _municipality(args), args.lang)
    if args.json:
        print(json.dumps(decision.as_dict(), ensure_ascii=False))
    elif decision.answered:
        print(f"{decision.snippet}\n({decision.title} – {decision.url}; score {decision.score:.3f})")
    else:
        print(f"No good answer on the website (best score {decision.score:.3f}).")
    return 0


def _cmd_content_calibrate(args: argparse.Namespace) -> int:
    from bot.core.config import PROJECT_ROOT
    from bot.content.evaluate import calibrate

    folder = Path(args.questions) if args.questions else PROJECT_ROOT / "data" / "content_eval"
    files = {path.stem: path for path in sorted(folder.glob("*.yml"))}
    value, reports = calibrate(files)
    for report in reports:
        print(report.line())
    print(f"threshold {value:.4f} written to data/content/answering.yml")
    return 0


def _cmd_content_check_questions(args: argparse.Namespace) -> int:
    from bot.content.gold import problems

    found = problems(Path(args.file), Path(args.website) if args.website else None)
    for question, why in found:
        print(f"{question}: {why}")
    print(f"{len(found)} problem(s)")
    return 1 if found else 0


def _cmd_nlu_check(args: argparse.Namespace) -> int:
    from bot.nlu.check import check

    report = check()
    print("\n".join(report.lines()))
    return 1 if report.errors else 0


def _cmd_nlu_harvest(args: argparse.Namespace) -> int:
    from bot.nlu.harvest import harvest

    summary = harvest(args.since, out_dir=Path(args.out) if args.out else None, below=args.below)
    print("\n".join(summary.lines()))
    return 0


def _cmd_nlu_evaluate(args: argparse.Namespace) -> int:
    from bot.nlu.evaluate import evaluate

    from bot.core.config import PROJECT_ROOT

    report, changed = evaluate(config_path=Path(args.config) if args.config else PROJECT_ROOT / "config.yml",
                               out_dir=Path(args.out) if args.out else None, full_train=args.full_train)
    print("\n".join(report.lines() + [""] + changed))
    return 0


def _cmd_safety_evaluate(args: argparse.Namespace) -> int:
    from bot.ops.safety_report import run

    return run(tuning=args.tuning, words_only=args.words_only, show=args.show)


def _cmd_safety_calibrate(args: argparse.Namespace) -> int:
    from bot.safety.calibrate import calibrate

    result = calibrate(write=not args.dry_run)
    print(f"thresholds {result['thresholds']}; cross-validated on data/safety_eval: "
          + ", ".join(f"{k} {v:.3f}" for k, v in result["figures"].items()))
    return 0


def _cmd_staff_add_user(args: argparse.Namespace) -> int:
    from bot.staff.users import main_add_user

    return main_add_user([args.name, "--role", args.role], stdin=sys.stdin)


def _cmd_staff_manage(args: argparse.Namespace) -> int:
    from bot.staff.users import main_manage

    return main_manage(args.staff_command, args.name)


def _cmd_staff_serve(args: argparse.Namespace) -> int:
    from bot.staff.app import main_serve

    port = args.port or get_settings().staff_port
    return main_serve(["--port", str(port)] + (["--host", args.host] if args.host else [])) or 0


def _add_server_commands(commands) -> None:
    """``run``, ``train``, ``model-path`` and ``chat``: training, starting and talking to the assistant."""
    run = commands.add_parser("run", help="train if needed, then start the Rasa and action servers")
    run.add_argument("--only", type=_process_names, default=None, metavar="NAMES",
                     help="start only these of rasa,actions,staff (comma-separated), e.g. a second Rasa server")
    run.set_defaults(func=_cmd_run)

    train = commands.add_parser("train", help="train a model unless one matches the current data")
    train.add_argument("--force", action="store_true", help="train even if a matching model exists")
    train.set_defaults(func=_cmd_train)

    model = commands.add_parser("model-path", help="print the path of the model for the current data")
    model.set_defaults(func=_cmd_model_path)

    chat = commands.add_parser("chat", help="chat with the running assistant in the terminal")
    chat.add_argument("--url", help="REST webhook URL (default: the local Rasa server)")
    chat.add_argument("--sender", help="conversation id (default: a new one)")
    chat.set_defaults(func=_cmd_chat)


def _add_profile_commands(commands) -> None:
    """``profile check``: the municipality profiles."""
    profile = commands.add_parser("profile", help="municipality profiles")
    profile_commands = profile.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    check = profile_commands.add_parser("check", help="validate profiles (all by default)")
    check.add_argument("ids", nargs="*", help="profile ids, e.g. saltvika")
    check.set_defaults(func=_cmd_profile_check)


def _add_handoffs_commands(commands) -> None:
    """``handoffs list|show|claim|reply|close``: the queue of conversations handed to staff."""
    handoffs = commands.add_parser("handoffs", help="the queue of conversations handed to staff")
    handoff_commands = handoffs.add_subparsers(dest="handoff_command", required=True, metavar="ACTION")
    listing = handoff_commands.add_parser("list", help="handoffs sorted by due time")
    listing.add_argument("--status", choices=("open", "claimed", "answered", "closed"))
    listing.add_argument("--json", action="store_true", help="print JSON objects")
    listing.set_defaults(func=_cmd_handoffs_list)
    show = handoff_commands.add_parser("show", help="one handoff with its history and transcript")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_cmd_handoffs_show)
    for action, text in (("claim", "take over the conversation (the bot falls silent)"),
                         ("reply", "send a reply to the citizen"),
                         ("close", "end the handoff (the bot answers again)")):
        command = handoff_commands.add_parser(action, help=text)
        command.add_argument("id", type=int)
        command.add_argument("--by", required=True, help="your name, for the record")
        if action == "reply":
            command.add_argument("text", nargs="+", help="the reply")
        command.set_defaults(func=_cmd_handoffs_change, action=action)


def _add_content_commands(commands) -> None:
    """``content ingest|search|answer|calibrate|check-questions``: the website content."""
    content = commands.add_parser("content", help="the municipality's website content")
    content_commands = content.add_subparsers(dest="content_command", required=True, metavar="ACTION")
    ingest = content_commands.add_parser("ingest", help="read a website into the assistant's content")
    ingest.add_argument("source", help="a folder of saved HTML pages, a file of URLs, or a sitemap URL")
    ingest.add_argument("--municipality", help="profile id (default: MUNICIPALITY)")
    ingest.set_defaults(func=_cmd_content_ingest)
    search = content_commands.add_parser("search", help="show the ranked passages for a query")
    search.add_argument("query")
    search.add_argument("--municipality")
    search.add_argument("--lang", choices=LANGUAGES)
    search.add_argument("--top", type=int, default=5)
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=_cmd_content_search)
    answer = content_commands.add_parser("answer", help="show exactly the decision the bot makes")
    answer.add_argument("question")
    answer.add_argument("--municipality")
    answer.add_argument("--lang", choices=LANGUAGES)
    answer.add_argument("--json", action="store_true")
    answer.set_defaults(func=_cmd_content_answer)
    calibrate = content_commands.add_parser("calibrate", help="choose the answer threshold on calibration questions")
    calibrate.add_argument("--questions", help="folder of question files (default: data/content_eval)")
    calibrate.set_defaults(func=_cmd_content_calibrate)
    check_questions = content_commands.add_parser(
        "check-questions", help="check that every gold answer of a question file is on its page")
    check_questions.add_argument("file", help="a question file (tests/content/answers/<municipality>.yml ...)")
    check_questions.add_argument("--website", help="folder of saved pages (default: data/website/<file name>)")
    check_questions.set_defaults(func=_cmd_content_check_questions)


def _add_nlu_commands(commands) -> None:
    """``nlu check|harvest|evaluate``: the trainers' tools."""
    nlu = commands.add_parser("nlu", help="for trainers: check the NLU data, harvest real messages, evaluate")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True, metavar="ACTION")
    nlu_check = nlu_commands.add_parser("check", help="find mistakes in data/nlu, domain.yml and tests/nlu (exit 1 on errors)")
    nlu_check.set_defaults(func=_cmd_nlu_check)
    nlu_harvest = nlu_commands.add_parser("harvest", help="write review files of real messages worth labelling")
    nlu_harvest.add_argument("--since", type=_date, required=True, help="first day (UTC), e.g. 2026-11-01")
    nlu_harvest.add_argument("--out", help="folder for nn.yml, nb.yml, sv.yml (default: DATA_DIR/nlu_review)")
    nlu_harvest.add_argument("--below", type=_share, default=0.6, help="a confidence under this is low (default 0.6)")
    nlu_harvest.set_defaults(func=_cmd_nlu_harvest)
    nlu_evaluate = nlu_commands.add_parser("evaluate", help="train the NLU, measure it on tests/nlu, compare with the last report")
    nlu_evaluate.add_argument("--out", help="report folder (default: DATA_DIR/nlu_report)")
    nlu_evaluate.add_argument("--config", help="try another pipeline (default: config.yml)")
    nlu_evaluate.add_argument("--full-train", action="store_true", help="also time a full rasa train (about a minute more)")
    nlu_evaluate.set_defaults(func=_cmd_nlu_evaluate)


def _add_safety_commands(commands) -> None:
    """``safety evaluate|calibrate``: the safety layer."""
    safety = commands.add_parser("safety", help="the safety layer: emergencies, crises, political opinion questions")
    safety_commands = safety.add_subparsers(dest="safety_command", required=True, metavar="ACTION")
    safety_evaluate = safety_commands.add_parser(
        "evaluate", help="recall and false alarms per class and language on tests/safety (the trained model)")
    safety_evaluate.add_argument("--tuning", action="store_true", help="use the tuning sets data/safety_eval instead")
    safety_evaluate.add_argument("--words-only", action="store_true", help="only the word lists (no model needed)")
    safety_evaluate.add_argument("--show", type=int, default=30, help="misses and false alarms to list per language")
    safety_evaluate.set_defaults(func=_cmd_safety_evaluate)
    safety_calibrate = safety_commands.add_parser(
        "calibrate", help="set the classifier's thresholds by cross-validation on data/safety_eval")
    safety_calibrate.add_argument("--dry-run", action="store_true", help="print, do not write thresholds.yml")
    safety_calibrate.set_defaults(func=_cmd_safety_calibrate)


def _add_staff_commands(commands) -> None:
    """``staff add-user|disable-user|enable-user|set-password|end-sessions|serve``."""
    staff = commands.add_parser("staff", help="the staff web app and its users")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add_user = staff_commands.add_parser("add-user", help="create a user; the password is read from standard input")
    add_user.add_argument("name")
    add_user.add_argument("--role", choices=("staff", "admin"), required=True)
    add_user.set_defaults(func=_cmd_staff_add_user)
    for command, help_text in (
            ("disable-user", "bar a user from signing in and sign out their sessions"),
            ("enable-user", "let a disabled user sign in again"),
            ("set-password", "give a user a new password (read from standard input) and sign out their sessions"),
            ("end-sessions", "sign out every session of a user")):
        manage = staff_commands.add_parser(command, help=help_text)
        manage.add_argument("name")
        manage.set_defaults(func=_cmd_staff_manage)
    serve = staff_commands.add_parser("serve", help="run the staff web app (make run starts it too)")
    serve.add_argument("--port", type=int, help="default: STAFF_PORT (8080)")
    serve.add_argument("--host", help="default: BIND_HOST")
    serve.set_defaults(func=_cmd_staff_serve)


def _add_archive_commands(commands) -> None:
    """``archive migrate|export|verify|purge``: the public-records archive."""
    archive = commands.add_parser("archive", help="the public-records archive")
    archive_commands = archive.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    migrate = archive_commands.add_parser("migrate", help="create or upgrade the archive's tables")
    migrate.set_defaults(func=_cmd_archive_migrate)
    export = archive_commands.add_parser("export", help="write a package for the archive institution")
    export.add_argument("--from", dest="from_date", type=_date, required=True, help="first day (UTC), e.g. 2026-01-01")
    export.add_argument("--to", dest="to_date", type=_date, required=True, help="last day (UTC), inclusive")
    export.add_argument("--out", required=True, help="an empty or new folder")
    export.add_argument("--format", choices=("noark5", "jsonl"), default="noark5")
    export.add_argument("--schemas", help="folder of the Noark 5 schemas to include in the package")
    export.set_defaults(func=_cmd_archive_export)
    verify = archive_commands.add_parser("verify", help="recompute every checksum of an exported package")
    verify.add_argument("dir")
    verify.set_defaults(func=_cmd_archive_verify)
    purge = archive_commands.add_parser(
        "purge", help="delete what the retention policy allows: archive, tracker store, replayed spool files, "
                      "staff sessions, Messenger ids")
    purge.add_argument("--before", type=_date, required=True, help="only conversations entirely before this day")
    purge.add_argument("--by", default="operator", help="your name, for the purge log")
    purge.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    purge.set_defaults(func=_cmd_archive_purge)


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_server_commands(commands)
    _add_profile_commands(commands)
    _add_handoffs_commands(commands)
    _add_content_commands(commands)
    _add_nlu_commands(commands)
    _add_safety_commands(commands)
    _add_staff_commands(commands)
    _add_archive_commands(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line.

    Returns:
        The process exit status.
    """
    args = build_parser().parse_args(argv)
    from bot.archive.export import ExportError
    from bot.handoff.queue import HandoffError
    from bot.municipality import MunicipalityError

    try:
        logging.basicConfig(level=get_settings().log_level, format="%(levelname)s %(name)s: %(message)s")
        return args.func(args)
    except (SettingsError, MunicipalityError, HandoffError, ExportError) as error:
        # Configuration mistakes (settings, profiles) are the operator's to fix: say what and where.
        print(f"error: {error}", file=sys.stderr)
        return 2
