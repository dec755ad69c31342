"""vlearn config [show | path | get KEY | set KEY VALUE | unset KEY]"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("config", help="show or change your settings (one TOML file)",
                       description="Settings a person chooses live in one TOML file (see `vlearn config path`): "
                       "ui.theme, editor.command, llm.*, srs.*, labs.remote_runner. Commands that change a "
                       "setting (vlearn model, vlearn srs config, vlearn remote-runner, the app's theme picker) "
                       "write it too.")
    p.set_defaults(func=run, config_action="show", needs_content=False)
    actions = p.add_subparsers(dest="config_action", metavar="ACTION")
    s = actions.add_parser("show", help="every setting, its value and what it does")
    s.set_defaults(func=run, needs_content=False)
    s = actions.add_parser("path", help="where the settings file is")
    s.set_defaults(func=run, needs_content=False)
    s = actions.add_parser("get", help="print one setting")
    s.add_argument("key", help="e.g. ui.theme")
    s.set_defaults(func=run, needs_content=False)
    s = actions.add_parser("set", help="change one setting")
    s.add_argument("key", help="e.g. ui.theme")
    s.add_argument("value", help="e.g. nord")
    s.set_defaults(func=run, needs_content=False)
    s = actions.add_parser("unset", help="back to the default")
    s.add_argument("key", help="e.g. editor.command")
    s.set_defaults(func=run, needs_content=False)


def _migrate() -> None:
    """Settings an older vlearn left in progress.db move to the file first."""
    from ..core import config
    from ..core.paths import database_path

    if database_path().exists():
        from ..core.store import open_store

        db = open_store()
        try:
            config.migrate_from_db(db)
        finally:
            db.close()


def _theme_names() -> list[str]:
    from textual.theme import BUILTIN_THEMES

    return list(BUILTIN_THEMES)


def run(args) -> int:
    from ..core import config

    config.CHOICES["ui.theme"] = _theme_names

    action = args.config_action or "show"
    path = config.config_path()
    try:
        _migrate()
        if action == "path":
            print(path)
        elif action == "get":
            config.coerce_key(args.key)
            value = config.get(args.key)
            if value is None:
                return 1
            print(value)
        elif action == "set":
            config.set_value(args.key, args.value)
            print(f"{args.key} = {config.get(args.key)!r}  ({path})")
        elif action == "unset":
            config.unset(args.key)
            print(f"{args.key} unset  ({path})")
        else:
            print(f"# {path}{'' if path.exists() else ' (not written yet: every value is the default)'}")
            for key, spec in config.KEYS.items():
                value = config.get(key)
                shown = "(default)" if value is None else repr(value)
                print(f"{key:<22} {shown:<28} {spec.help}")
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
