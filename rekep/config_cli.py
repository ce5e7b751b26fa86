"""``rekep config show`` and the ``--config FILE`` / ``--set NAME=VALUE`` options."""

from __future__ import annotations

import argparse
import json

from rekep.settings import RekepSettings, load_settings, to_dict
from rekep.settings.toml_text import dumps_toml


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and repeatable ``--set`` to a subcommand."""
    parser.add_argument(
        "--config", metavar="FILE",
        help="settings file (.toml, .yaml or .json); see `rekep config show`",
    )  # fmt: skip
    parser.add_argument(
        "--set", dest="assignments", action="append", default=[], metavar="NAME=VALUE",
        help="override one setting, e.g. --set solver.backend=scipy (repeatable)",
    )  # fmt: skip


def settings_from_args(args: argparse.Namespace, flags: dict[str, object] | None = None
                       ) -> RekepSettings:  # fmt: skip
    """Defaults < ``--config`` file < ``--set`` < explicit flags (``flags``: dotted setting
    name -> flag value; None values were not given on the command line)."""
    assignments = list(getattr(args, "assignments", []) or [])
    assignments += [f"{name}={value}" for name, value in (flags or {}).items() if value is not None]
    return load_settings(getattr(args, "config", None), assignments)


def _cmd_show(args: argparse.Namespace) -> int:
    data = to_dict(settings_from_args(args))
    print(json.dumps(data, indent=2) if args.format == "json" else dumps_toml(data), end="")
    if args.format == "json":
        print()
    return 0


def add_config_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    config = sub.add_parser("config", help="show the effective settings")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser(
        "show", help="print the effective settings (defaults, --config file, --set overrides)"
    )
    add_settings_options(show)
    show.add_argument("--format", choices=["toml", "json"], default="toml")
    show.set_defaults(func=_cmd_show)
