"""``python -m bot``: operator tasks, one subcommand each."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

from bot.config import SettingsError, get_settings


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.run import run_servers

    return run_servers()


def _cmd_train(args: argparse.Namespace) -> int:
    from bot.model import train

    print(train(force=args.force))
    return 0


def _cmd_model_path(args: argparse.Namespace) -> int:
    from bot.model import model_path

    print(model_path())
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from bot.chat import chat

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


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="train if needed, then start the Rasa and action servers")
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

    profile = commands.add_parser("profile", help="municipality profiles")
    profile_commands = profile.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    check = profile_commands.add_parser("check", help="validate profiles (all by default)")
    check.add_argument("ids", nargs="*", help="profile ids, e.g. saltvika")
    check.set_defaults(func=_cmd_profile_check)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the command line.

    Returns:
        The process exit status.
    """
    args = build_parser().parse_args(argv)
    from bot.municipality import MunicipalityError

    try:
        logging.basicConfig(level=get_settings().log_level, format="%(levelname)s %(name)s: %(message)s")
        return args.func(args)
    except (SettingsError, MunicipalityError) as error:
        # Configuration mistakes (settings, profiles) are the operator's to fix: say what and where.
        print(f"error: {error}", file=sys.stderr)
        return 2
