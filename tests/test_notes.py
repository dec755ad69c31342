"""Notes (created once, never rewritten) and deliverables (done = ticked + written),
over the small content tree of the gap tests plus two day pages."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from test_gaps import make_content

from tui.cli import main
from tui.core import deliverables, notes
from tui.core.content import load_catalog
from tui.core.store import open_store, progress

DAY1 = """\
# Day 1 — Paging

## Morning reading (1 h)

- [Read](lesson:l-pa-read).

## Deliverable

A block-table diagram for two requests,
with the slot of every token.
"""


def notes_content(root: Path) -> Path:
    make_content(root)
    days = root / "curriculum" / "days"
    days.mkdir(parents=True)
    (days / "day01.md").write_text(DAY1, encoding="utf-8")
    (days / "day02.md").write_text("# Day 2 — More\n\n## Morning reading (1 h)\n\nRead.\n", encoding="utf-8")
    return root


@pytest.fixture
def world(tmp_path, vlearn_home, monkeypatch):
    root = notes_content(tmp_path / "content")
    monkeypatch.setenv("VLEARN_CONTENT", str(root))
    catalog = load_catalog(root)
    assert not catalog.errors, [str(p) for p in catalog.errors]
    db = open_store(vlearn_home / "progress.db")
    yield catalog, db
    db.close()


def test_paths_and_headers(world, vlearn_home):
    catalog, _ = world
    day = notes.day_note(catalog, 1)
    assert day.path == vlearn_home / "notes" / "day-01.md"
    assert notes.lesson_note(catalog, "l-pa-read").path == vlearn_home / "notes" / "lesson-l-pa-read.md"
    assert notes.ensure(day) is True
    text = day.path.read_text()
    assert text.startswith("# Day 1 — Paging: notes\n")
    assert "> A block-table diagram for two requests,\n> with the slot of every token.\n" in text
    assert notes.MARKER in text and not notes.has_content(day)
    lesson = notes.lesson_note(catalog, "l-pa-read")
    notes.ensure(lesson)
    assert "- x\n  - \n" in lesson.path.read_text()  # the lesson's objectives, as an outline
    assert not notes.has_content(lesson)
    # A day without a deliverable on its page: a header without a quote.
    two = notes.day_note(catalog, 2)
    assert "Deliverable" not in two.header and two.header.startswith("# Day 2 — More: notes")


def test_created_once_and_never_overwritten(world):
    catalog, _ = world
    note = notes.day_note(catalog, 1)
    assert notes.ensure(note) is True
    note.path.write_text("mine, entirely\n", encoding="utf-8")
    assert notes.ensure(note) is False
    assert notes.ensure(notes.day_note(catalog, 1)) is False
    assert note.path.read_text() == "mine, entirely\n"
    # The CLI's --print opens it again: still untouched.
    assert main(["note", "day", "1", "--print"]) == 0
    assert note.path.read_text() == "mine, entirely\n"
    # Without the marker the header lines do not count as the learner's text; their own lines do.
    assert notes.has_content(note)
    note.path.write_text(note.header.replace(notes.MARKER, ""), encoding="utf-8")
    assert not notes.has_content(note)


@pytest.mark.parametrize("argv, words", [
    (["note", "day", "99"], "no day 99 in the plan (days 0-2)"),
    (["note", "day", "seven"], "day must be a number"),
    (["note", "lesson", "no-such-lesson"], "no lesson 'no-such-lesson'"),
    (["note", "lesson", "../../etc/passwd"], "no lesson '../../etc/passwd'"),
    (["deliverables", "--tick", "2"], "day 2 has no Deliverable section"),
])
def test_bad_ids_are_one_line(world, capsys, vlearn_home, argv, words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and err.startswith("error: ")
    assert not any((vlearn_home / "notes").glob("*")) if (vlearn_home / "notes").exists() else True


def test_note_opens_in_the_editor_at_the_first_free_line(world, tmp_path, monkeypatch, capsys):
    catalog, _ = world
    record = tmp_path / "argv.txt"
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\nopen({str(record)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    assert main(["note", "day", "1"]) == 0
    note = notes.day_note(catalog, 1)
    assert record.read_text().splitlines() == [f"+{note.first_line}", str(note.path)]
    assert note.path.read_text().splitlines()[note.first_line - 2] == notes.MARKER


def test_a_deliverable_does_not_tick_with_an_empty_note(world, capsys):
    catalog, db = world
    assert [d.day for d in deliverables.listing(catalog, db)] == [1]  # day 2's page has none
    assert deliverables.get(catalog, db, 1).state == "open"
    item = deliverables.tick(catalog, db, 1)
    assert item.ticked and not item.done and item.state == "ticked, but the note is empty"
    notes.ensure(notes.day_note(catalog, 1))  # created, header only
    assert not deliverables.is_done(catalog, db, 1)
    assert main(["deliverables"]) == 0
    out = capsys.readouterr().out
    assert "[~] day  1  ticked, but the note is empty" in out and "0 of 1 done" in out


def test_a_deliverable_ticks_with_content(world, capsys):
    catalog, db = world
    note = notes.day_note(catalog, 1)
    notes.ensure(note)
    with note.path.open("a", encoding="utf-8") as out:
        out.write("Request A: blocks 3, 7. Request B: blocks 3, 9 (block 3 shared).\n")
    assert deliverables.get(catalog, db, 1).state == "note written, not ticked"
    assert main(["deliverables", "--tick", "1"]) == 0
    assert capsys.readouterr().out.strip() == "day 1: done"
    assert deliverables.is_done(catalog, db, 1)
    assert main(["deliverables", "--week", "1"]) == 0
    assert "[x] day  1  done" in capsys.readouterr().out
    assert main(["deliverables", "--untick", "1"]) == 0
    assert not deliverables.is_done(catalog, db, 1)
    # The tick is a checklist row of its own: the plan's items for the day are not touched.
    assert "deliverable" not in {k for k, _ in catalog.days[1].checklist()}
    assert progress.done_items(db, 1) == set()


def test_section_reader_stops_at_the_next_heading():
    body = textwrap.dedent("""\
        # T
        ## Deliverable

        One.
        ## Next
        Two.
    """)
    assert notes.section(body, "Deliverable") == "One."
    assert notes.section(body, "Missing") is None


async def test_n_opens_the_note_from_the_day_page_and_the_lesson(world, tmp_path, monkeypatch):
    import contextlib

    from tui.app import VlearnApp

    catalog, db = world
    script = tmp_path / "editor.py"
    script.write_text("import sys\nopen(sys.argv[-1], 'a').write('written in the editor\\n')\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.setattr(VlearnApp, "suspend", lambda self: contextlib.nullcontext())  # no terminal under Pilot
    app = VlearnApp(catalog=catalog, db=db)
    async with app.run_test(size=(110, 36)) as pilot:
        app.open_item("daypage", 1)
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        note = notes.day_note(catalog, 1)
        assert note.path.read_text().endswith(notes.MARKER + "\n\nwritten in the editor\n")
        assert notes.has_content(note)
        app.open_item("lesson", "l-pa-read")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        lesson = notes.lesson_note(catalog, "l-pa-read")
        assert lesson.path.read_text() == lesson.header + "written in the editor\n"


async def test_todays_checklist_ends_with_the_deliverable_which_needs_its_note(tmp_path, vlearn_home):
    """Space ticks it, but it is done only once the day note has the learner's own text;
    Enter opens the note (here no terminal: the note is created and its path said)."""
    import shutil

    from tui.app import VlearnApp
    from tui.core import notes
    from tui.core.content import load_catalog
    from tui.core.store import open_store

    content = tmp_path / "content"
    shutil.copytree(Path(__file__).parent / "fixtures" / "content", content)
    page = content / "curriculum" / "days" / "day01.md"
    page.write_text(page.read_text() + "\n## Deliverable\n\nA one-page sketch of the block table.\n")
    catalog = load_catalog(content)
    app = VlearnApp(catalog=catalog, db=open_store(vlearn_home / "progress.db"))
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        app.screen.show_day(1)
        await pilot.pause()
        checklist = app.screen.query_one("#checklist")
        entries = [item.entry for item in checklist.children]
        assert entries[-1].kind == "deliverable" and "sketch of the block table" in entries[-1].title
        checklist.index = len(entries) - 1
        await pilot.press("space")
        await pilot.pause()
        assert not checklist.children[-1].entry.done  # ticked, but the note is empty
        note = notes.day_note(catalog, 1)
        notes.ensure(note)
        with note.path.open("a") as fh:
            fh.write("\nThe table maps logical blocks to physical ones.\n")
        app.screen.refresh_day()
        await pilot.pause()
        assert app.screen.query_one("#checklist").children[-1].entry.done
