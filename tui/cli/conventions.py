"""What every command line tool is expected to have: --version, help that names
the environment variables and shows examples, one-line errors for paths that
cannot be read or written, a clear message when the content is missing."""
from __future__ import annotations

import sys

ENVIRONMENT = """\
environment:
  VLEARN_HOME           your data: progress.db and workspace/ (default: the platform's user data dir)
  VLEARN_CONTENT        a content tree to use instead of the installed one (curriculum/, labs/, ...)
  VLEARN_CONFIG         the settings file (default: settings.toml in the platform's config dir,
                        or in VLEARN_HOME when that is set)
  VLEARN_REMOTE_RUNNER  a command that runs GPU labs elsewhere, e.g. 'ssh gpu-box' (wins over the setting)
  VLEARN_BUSY_TIMEOUT   seconds to wait for progress.db when another vlearn holds it
  VLEARN_VLLM_SOURCE    a vLLM 0.33.0 checkout to read references from (default: `vlearn source fetch`'s copy)
  VLEARN_LAB_SANDBOX    0 turns off the write confinement of lab runs (docs/threat-model.md)
  VISUAL, EDITOR        the editor lab files open in (then vim, nano, vi)
"""

EXAMPLES = """\
examples:
  vlearn doctor                     what the content holds and what this machine can run
  vlearn review --deck scheduling   due cards in a plain terminal
  vlearn check py-kv-cache-sizing   run a lab's tests against your workspace copy
  vlearn verify --track python      solutions pass, starters fail
  vlearn export anki cards.apkg     the decks for Anki (re-importing updates in place)
  vlearn export progress --format csv --out progress/   one CSV per table
  vlearn config set ui.theme nord   settings live in one TOML file (vlearn config path)
  source <(vlearn completion bash)  tab completion (also zsh, fish)
"""


def version() -> str:
    """The installed distribution's version (the checkout's pyproject when not installed)."""
    try:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        return dist_version("vlearn")
    except PackageNotFoundError:
        import re
        from pathlib import Path

        text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
        found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
        return found.group(1) if found else "unknown"


def version_line(prog: str = "vlearn") -> str:
    return f"{prog} {version()} (curriculum for vLLM 0.33.0)"


def path_error(exc: OSError) -> str:
    """`cannot write /x/y: Permission denied`: one line naming the path and the reason."""
    import errno

    reason = exc.strerror or str(exc)
    target = exc.filename or ""
    if exc.filename2:
        target = f"{exc.filename} -> {exc.filename2}"
    verb = {
        errno.EACCES: "cannot access", errno.EPERM: "cannot access", errno.EROFS: "cannot write",
        errno.ENOSPC: "cannot write", errno.ENOENT: "cannot find", errno.ENOTDIR: "cannot use",
        errno.EISDIR: "cannot use",
    }.get(exc.errno or 0, "cannot use")
    return f"error: {verb} {target}: {reason}" if target else f"error: {reason}"


def content_check(args) -> int | None:
    """The one message about a missing content tree; an exit status when the
    command cannot go on without content, None when it can."""
    from ..core.paths import content_problem

    problem = content_problem()
    if problem is None:
        return None
    print(f"error: {problem}", file=sys.stderr)
    if not getattr(args, "needs_content", True) or getattr(args, "command", None) == "doctor":
        return None  # doctor goes on to report it; settings and completion need no content
    return 1
