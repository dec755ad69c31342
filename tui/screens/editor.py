"""Hand the terminal to the learner's editor at a file and line, from any screen."""
from __future__ import annotations

import subprocess
from pathlib import Path

from ..core import paths


def open_in_editor(screen, path: Path | str, line: int = 1, what: str = "the file") -> bool:
    """$EDITOR (as `vlearn doctor` names it) at `path`:`line` through app.suspend();
    False, with a notice saying where the file is, when there is no editor or no terminal."""
    chosen = paths.editor()
    if chosen is None:
        screen.notify(f"Set $EDITOR, or open {path} in your editor.", title="No editor")
        return False
    try:
        with screen.app.suspend():
            subprocess.call(paths.editor_command(chosen[0], str(path), line))
    except Exception as exc:  # no terminal to hand over (a web or test driver)
        screen.notify(f"Cannot open the editor here ({exc}); {what} is {path}", severity="warning")
        return False
    screen.app.refresh()
    return True
