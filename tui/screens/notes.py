"""Opening a learner's note (tui.core.notes) from a screen: `n` on the day page and a lesson."""
from __future__ import annotations

from ..core import notes
from .editor import open_in_editor


def open_note(screen, kind: str, ident) -> None:
    """Create the note if needed, hand the terminal to $EDITOR through app.suspend()
    (as the lab screen's `e` does), then say where the note is."""
    try:
        note = notes.resolve(screen.app.catalog, kind, ident)
        created = notes.ensure(note)
    except (notes.NoteError, OSError) as exc:
        screen.notify(str(exc), title="Note", severity="warning")
        return
    if not open_in_editor(screen, note.path, note.first_line, "the note"):
        return
    words = "has your text" if notes.has_content(note) else "has no text of yours yet"
    screen.notify(f"{note.path} {words}.", title="Note created" if created else "Note")
