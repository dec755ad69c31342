"""Where content and the learner's data live (DESIGN.md §2)."""
from __future__ import annotations

import os
from pathlib import Path

CONTENT_DIRS = ("curriculum", "labs", "kernels", "flashcards", "data")
CHECKOUT = Path(__file__).resolve().parents[2]  # the folder holding tui/
PACKAGED = Path(__file__).resolve().parents[1] / "_content"  # what a wheel installs (setup.py)


def _is_content(root: Path) -> bool:
    return (root / "curriculum" / "plan.yaml").is_file()


def content_root() -> Path:
    """The folder holding curriculum/, labs/, kernels/, flashcards/, data/.

    `VLEARN_CONTENT` overrides; then the repository checkout the package runs
    from (an editable install keeps `tui/` inside it); then the copy a wheel
    installs inside the package (`tui/_content`, see setup.py). With none of
    them present it is the checkout path, and `content_problem()` says why.
    """
    env = os.environ.get("VLEARN_CONTENT")
    if env:
        return Path(env).expanduser().resolve()
    if _is_content(CHECKOUT):
        return CHECKOUT
    if _is_content(PACKAGED):
        return PACKAGED
    return CHECKOUT


def content_source() -> str:
    """Where content_root() came from, in words (doctor prints it)."""
    if os.environ.get("VLEARN_CONTENT"):
        return "$VLEARN_CONTENT"
    root = content_root()
    return "installed with the package" if root == PACKAGED else "repository checkout"


def content_problem(root: Path | None = None) -> str | None:
    """None when the content tree is there; otherwise one message naming what is
    missing and how to fix it (every command prints it instead of empty results)."""
    root = root or content_root()
    missing = [d + "/" for d in CONTENT_DIRS if not (root / d).is_dir()]
    if len(missing) < len(CONTENT_DIRS):
        return None  # a partial tree (a test fixture, a trimmed copy): doctor reports what it lacks
    if os.environ.get("VLEARN_CONTENT"):
        where = f"VLEARN_CONTENT={os.environ['VLEARN_CONTENT']}"
        fix = "point VLEARN_CONTENT at a vlearn checkout (the folder holding curriculum/ and labs/) or unset it"
    else:
        where = str(root)
        fix = ("reinstall vlearn from a wheel or a checkout (`pip install /path/to/vlearn`), "
               "or set VLEARN_CONTENT to a vlearn checkout")
    return f"no vlearn content in {where}: {', '.join(missing)} missing. Fix: {fix}."


def vlearn_home() -> Path:
    """The learner's own data: progress.db and workspace/. Never content."""
    env = os.environ.get("VLEARN_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        import platformdirs

        home = Path(platformdirs.user_data_dir("vlearn", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home.resolve()


def runs_dir() -> Path:
    """Scratch space and compiler caches for lab runs. A lab's own process has
    no VLEARN_HOME (contain.lab_env); VLEARN_RUNS points it here instead."""
    env = os.environ.get("VLEARN_RUNS")
    path = Path(env) if env else vlearn_home() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def workspace_dir() -> Path:
    return vlearn_home() / "workspace"


def database_path() -> Path:
    return vlearn_home() / "progress.db"


def vllm_paths_file() -> Path | None:
    """The list of every file in vLLM 0.33.0, when the shared reference is beside us."""
    env = os.environ.get("VLEARN_VLLM_PATHS")
    candidates = [Path(env)] if env else []
    # A copy of the shared reference list ships with the content (file names only).
    candidates.append(content_root() / "data" / "vllm-0.33.0-paths.txt")
    for path in candidates:
        if path.is_file():
            return path
    return None


FALLBACK_EDITORS = ("vim", "nano", "vi")


def editor() -> tuple[list[str], str] | None:
    """The editor the app's `e` opens, and where the choice came from: the
    settings file's editor.command, then $VISUAL, then $EDITOR, then the first
    of vim, nano, vi on PATH."""
    import shlex
    import shutil

    from . import config

    try:
        chosen = str(config.get("editor.command") or "").strip()
    except config.ConfigError:
        chosen = ""  # a broken settings file must not stop the editor opening
    if chosen:
        return shlex.split(chosen), f"editor.command in {config.config_path()}"
    for var in ("VISUAL", "EDITOR"):
        value = os.environ.get(var, "").strip()
        if value:
            return shlex.split(value), f"${var}"
    for name in FALLBACK_EDITORS:
        if shutil.which(name):
            return [name], "found on PATH; $EDITOR is not set"
    return None


def editor_command(editor: list[str], file: str, line: int) -> list[str]:
    """`editor +LINE file`, or the form editors that do not take +LINE expect."""
    name = os.path.basename(editor[0]).lower()
    if name in ("code", "code-insiders", "codium", "cursor"):
        return [*editor, "-g", f"{file}:{line}"]
    if name in ("subl", "zed"):
        return [*editor, f"{file}:{line}"]
    return [*editor, f"+{line}", file]
