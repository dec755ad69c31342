"""Opening a learner's note (tui.core.notes) from a screen: `n` on the day page and a lesson."""
from __future__ import annotations

import subprocess

from ..core import notes


def open_note(screen, kind: str, ident) -> None:
    """Create the note if needed, hand the terminal to $EDITOR through app.suspend()
    (as the lab screen's `e` does), then say where the note is."""
    try:
        note = notes.resolve(screen.app.catalog, kind, ident)
        created = notes.ensure(note)
    except (notes.NoteError, OSError) as exc:
        screen.notify(str(exc), title="Note", severity="warning")
        return
    argv = notes.editor_argv(note)
    if argv is None:
        screen.notify(f"Set $EDITOR, or open {note.path} in your editor.", title="No editor")
        return
    try:
        with screen.app.suspend():
            subprocess.call(argv)
    except Exception as exc:  # no terminal to hand over (a web or test driver)
        screen.notify(f"Cannot open the editor here ({exc}); the note is {note.path}", severity="warning")
        return
    screen.app.refresh()
    words = "has your text" if notes.has_content(note) else "has no text of yours yet"
    screen.notify(f"{note.path} {words}.", title="Note created" if created else "Note")
