"""Settings in one place: a TOML file in the platform's config directory.

What a person chooses (theme, editor, model endpoint, SRS options, the remote
GPU runner) lives here, readable and editable by hand; what the app records
about the learner (start date, scroll offsets, the fitted FSRS parameters)
stays in progress.db. `progress.get_setting`/`set_setting` route the keys in
`KEYS` here, so every command that changed a setting before now writes this
file, and a value an older version left in progress.db's `settings` table
moves here the first time it is read (and is deleted there): one source of
truth.

Where: `$VLEARN_CONFIG`; else, when `$VLEARN_HOME` is set, `settings.toml`
inside it (a separate home is a separate learner, tests included); else
`settings.toml` in platformdirs' user config dir (~/.config/vlearn on Linux).
Never the API key: only the NAME of the variable holding it.
"""
from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Key:
    kind: type
    help: str
    low: float | None = None
    high: float | None = None


KEYS: dict[str, Key] = {
    "ui.theme": Key(str, "the app's colour theme (the command palette's 'Change theme' sets it)"),
    "editor.command": Key(str, "the editor lab files open in, e.g. 'code --wait' (wins over $VISUAL/$EDITOR)"),
    "llm.base_url": Key(str, "OpenAI-compatible endpoint for interviews, e.g. http://127.0.0.1:8000/v1"),
    "llm.model": Key(str, "model name sent to the endpoint"),
    "llm.api_key_env": Key(str, "NAME of the environment variable holding the API key (never the key)"),
    "llm.timeout_s": Key(float, "seconds to wait for the model", 1, 3600),
    "srs.desired_retention": Key(float, "FSRS desired retention", 0.7, 0.99),
    "srs.new_per_day": Key(int, "new cards per day", 0, 9999),
    "srs.review_limit": Key(int, "most reviews shown per day", 1, 99999),
    "labs.remote_runner": Key(str, "command that runs GPU labs on another machine, e.g. 'ssh gpu-box'"),
}

ENV = "VLEARN_CONFIG"
FILENAME = "settings.toml"


# key -> a function giving the allowed values, registered by layers that know them (the theme
# names belong to Textual, which tui.core must not import: tui.cli.config registers them).
CHOICES: dict[str, Callable[[], list[str]]] = {}


class ConfigError(ValueError):
    """A key that does not exist or a value of the wrong kind; the message says which."""


def config_path() -> Path:
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    home = os.environ.get("VLEARN_HOME")
    if home:
        return Path(home).expanduser() / FILENAME
    import platformdirs

    return Path(platformdirs.user_config_dir("vlearn", appauthor=False)) / FILENAME


# ------------------------------------------------------------------ read

_cache: dict[Path, tuple[int, int, dict]] = {}


def load(path: Path | None = None) -> dict[str, dict]:
    """{table: {key: value}}; {} when the file does not exist. A file that is not
    valid TOML raises ConfigError naming the file and line."""
    path = path or config_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    hit = _cache.get(path)
    if hit and hit[:2] == (st.st_mtime_ns, st.st_size):
        return hit[2]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc} (fix or delete the file)") from None
    _cache[path] = (st.st_mtime_ns, st.st_size, data)
    return data


def get(key: str, default=None, path: Path | None = None):
    table, _, name = key.partition(".")
    value = load(path).get(table, {}).get(name)
    return default if value is None else value


# ------------------------------------------------------------------ write


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    # A TOML basic string: JSON's escapes (\" \\ \n \t \uXXXX) are all valid TOML.
    return json.dumps(str(value), ensure_ascii=False)


def dumps(data: dict[str, dict]) -> str:
    """A TOML document of flat tables (all this file ever holds)."""
    lines = ["# vlearn settings: edit by hand or with `vlearn config set KEY VALUE`.",
             "# Never put an API key here: llm.api_key_env names the variable that holds it."]
    for table in sorted(data):
        values = data[table]
        if not values:
            continue
        lines += ["", f"[{table}]"]
        lines += [f"{name} = {_toml_value(values[name])}" for name in sorted(values)]
    return "\n".join(lines) + "\n"


def coerce(key: str, value):
    """`value` (a string from the command line or an older store) as the key's type, checked."""
    spec = KEYS.get(key)
    if spec is None:
        raise ConfigError(f"unknown setting {key!r}; known: {', '.join(KEYS)}")
    try:
        typed = spec.kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} takes a {spec.kind.__name__}, not {value!r}") from None
    if spec.low is not None and not spec.low <= typed <= spec.high:
        raise ConfigError(f"{key} must be between {spec.low:g} and {spec.high:g}")
    choices = CHOICES.get(key)
    if choices is not None and typed not in choices():
        raise ConfigError(f"unknown value {typed!r} for {key}; one of: {', '.join(choices())}")
    return typed


def _write(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(data), encoding="utf-8")
    tmp.replace(path)  # atomic: a reader sees the old file or the new one


def update(changes: dict[str, object], path: Path | None = None) -> None:
    """Set (value) or remove (None) keys, checked, in one write."""
    path = path or config_path()
    data = {t: dict(v) for t, v in load(path).items()}
    for key, value in changes.items():
        table, _, name = key.partition(".")
        if value is None:
            data.get(table, {}).pop(name, None)
        else:
            data.setdefault(table, {})[name] = coerce(key, value)
    _write(data, path)


def set_value(key: str, value, path: Path | None = None) -> None:
    update({key: value}, path)


def unset(key: str, path: Path | None = None) -> None:
    coerce_key(key)
    update({key: None}, path)


def coerce_key(key: str) -> None:
    if key not in KEYS:
        raise ConfigError(f"unknown setting {key!r}; known: {', '.join(KEYS)}")


# ------------------------------------------------------------------ from progress.db


def migrate_from_db(db) -> list[str]:
    """Move settings an older vlearn kept in progress.db's `settings` table into
    the file (a value already in the file wins) and delete them there.
    Returns the keys moved."""
    marks = ",".join("?" * len(KEYS))
    rows = db.execute(f"select key, value from settings where key in ({marks})", list(KEYS)).fetchall()
    if not rows:
        return []
    current = load()
    changes = {}
    for key, value in rows:
        table, _, name = key.partition(".")
        if name in current.get(table, {}):
            continue
        try:
            changes[key] = coerce(key, value)
        except ConfigError:
            continue  # an old value that no longer passes the checks is dropped
    if changes:
        update(changes)
    with db.atomic():
        db.execute(f"delete from settings where key in ({marks})", list(KEYS))
    return [k for k, _ in rows]
