"""The portfolio: built from a seeded progress.db (the gap tests' history plus one lab run
with recorded figures), it shows exactly the recorded figures with their date and device,
says "no runs yet" where there is nothing, and its HTML parses and carries the SVG charts."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_gaps import NOW, seed
from test_notes import notes_content

from tui.cli import main
from tui.core import deliverables, notes, portfolio
from tui.core.content import load_catalog
from tui.core.labs.runner import RunResult, record_run
from tui.core.store import open_store

FIGURES = {"size": "n=2^26 fp32", "kernel_ms": 0.3412, "gbps": 2310.5, "pct_of_copy": 78.0,
           "device": "NVIDIA H100 80GB HBM3", "_test": "tests/test_x.py::test_perf"}
RUN_AT = "2026-03-01T10:00:00+00:00"


@pytest.fixture
def content(tmp_path, monkeypatch):
    root = notes_content(tmp_path / "content")
    monkeypatch.setenv("VLEARN_CONTENT", str(root))
    return load_catalog(root)


@pytest.fixture
def seeded(content, vlearn_home):
    catalog = content
    db = open_store(vlearn_home / "progress.db")
    seed(db, catalog)
    record_run(db, RunResult(lab_id="lab-sched", kind="lab", dir_kind="workspace", target=Path("."),
                             status="passed", perf=[dict(FIGURES)], started_at=RUN_AT, duration=3.0))
    note = notes.day_note(catalog, 1)
    notes.ensure(note)
    with note.path.open("a", encoding="utf-8") as out:
        out.write("Two requests share block 3.\n\nSecond line of mine.\n")
    deliverables.tick(catalog, db, 1)
    yield catalog, db
    db.close()


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_the_recorded_figures_and_nothing_else(seeded):
    catalog, db = seeded
    data = portfolio.build(catalog, db, now=NOW)
    labs = {lab["id"]: lab for lab in data["labs"]["passed"]}
    assert set(labs) == {"lab-pa-pass", "lab-sched"}  # the two passes of the seed; fails are not listed
    assert data["labs"]["attempted_not_passed"] == 2  # lab-pa-fail and the project stopped at stage two
    sched = labs["lab-sched"]
    assert sched["figures"] == [{"size": "n=2^26 fp32", "device": "NVIDIA H100 80GB HBM3",
                                 "values": {"kernel_ms": 0.3412, "gbps": 2310.5, "pct_of_copy": 78.0}}]
    assert sched["figures_at"] == "2026-03-01"
    assert labs["lab-pa-pass"]["figures"] == [] and labs["lab-pa-pass"]["figures_note"] == "no recorded figures"
    text = portfolio.to_markdown(data)
    labs_md = _section(text, "Labs and projects passed")
    assert "Figures from the last workspace run, 2026-03-01:" in labs_md
    assert "| size | device | kernel ms | GB/s | % of copy |" in labs_md
    assert "| n=2^26 fp32 | NVIDIA H100 80GB HBM3 | 0.3412 | 2310.5 | 78 |" in labs_md
    assert labs_md.count("| n=2^26") == 1 and "Figures: no recorded figures." in labs_md
    # Drills: the seed's four graded drills, all in the 'architecture' category: (1+2+4+4)/16.
    drills_md = _section(text, "Drills by category")
    assert "| architecture | 4 | 69% |" in drills_md
    assert "no runs yet" in _section(text, "Mock interviews")
    # Rubric: one assessment, (5 x 4 + 2 x 4) / 8 = 3.5, target 4.
    rubric_md = _section(text, "Rubric trajectory (target 4)")
    assert "| 3.50 | 0.50 |" in rubric_md and "scheduler 2.00 (below target)" in rubric_md
    notes_md = _section(text, "Deliverable notes")
    assert "(done; ticked" in notes_md and "> Two requests share block 3." in notes_md
    assert "> Second line of mine." in notes_md
    gaps_md = _section(text, "Open gaps")
    assert "PagedAttention" in gaps_md and "Scheduler" not in gaps_md  # scheduler's evidence is at 5
    talk = _section(text, "Talk outline: vLLM internals in 30 minutes")
    assert ("lab-sched at n=2^26 fp32: 0.3412 kernel ms, 2310.5 GB/s, 78 % of copy "
            "(2026-03-01, NVIDIA H100 80GB HBM3)") in talk
    assert talk.count("your figure: lab-sched") == 1  # only in the scheduler section


def test_figures_of_a_failed_last_run_are_not_shown(seeded):
    catalog, db = seeded
    record_run(db, RunResult(lab_id="lab-sched", kind="lab", dir_kind="workspace", target=Path("."),
                             status="failed", perf=[dict(FIGURES, gbps=1.0)], duration=1.0))
    lab = next(x for x in portfolio.build(catalog, db, now=NOW)["labs"]["passed"] if x["id"] == "lab-sched")
    assert lab["figures"] == [] and lab["figures_note"] == "no recorded figures"


def test_an_empty_history_says_no_runs_yet(content, vlearn_home):
    db = open_store(vlearn_home / "progress.db")
    data = portfolio.build(content, db, now=NOW)
    text = portfolio.to_markdown(data)
    for title in ("Labs and projects passed", "Drills by category", "Mock interviews",
                  "Rubric trajectory (target 4)"):
        assert "no runs yet" in _section(text, title), title
    assert "none recorded yet" in _section(text, "Talk outline: vLLM internals in 30 minutes")
    assert portfolio.charts(data) == [] and "<svg" not in portfolio.to_html(data)
    db.close()


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.labels: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "svg":
            self.labels.append(dict(attrs)["aria-label"])


def test_html_parses_with_the_svg_charts_and_nothing_external(seeded, tmp_path, capsys):
    catalog, db = seeded
    assert main(["portfolio", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "out" / "portfolio.md"), str(tmp_path / "out" / "portfolio.html")]
    page = (tmp_path / "out" / "portfolio.html").read_text()
    parser = Tags()
    parser.feed(page)
    parser.close()
    assert parser.labels == ["Kernels: % of measured copy bandwidth (last recorded run)",
                             "Drills: mean rubric score by category", "Rubric: average self-assessment"]
    assert parser.tags.count("rect") == 3 and "style" in parser.tags and "table" in parser.tags
    assert not {"script", "link", "img", "iframe"} & set(parser.tags)
    assert not [v for k, v in parser.attrs if k in ("src", "href")]
    assert ">78%</text>" in page and ">69%</text>" in page and ">3.5</text>" in page
    md = (tmp_path / "out" / "portfolio.md").read_text()
    assert md == portfolio.to_markdown(portfolio.build(catalog, db))


def test_portfolio_json_and_a_read_only_folder_is_one_line(seeded, tmp_path, capsys):
    import json
    import os

    assert main(["portfolio", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rubric"]["target"] == 4
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert main(["portfolio", "--out", str(locked)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "read-only" in err
    finally:
        locked.chmod(0o700)


async def test_portfolio_screen_renders_the_report_and_writes_it(seeded, vlearn_home):
    from textual.widgets import Markdown

    from tui.app import VlearnApp

    catalog, db = seeded
    app = VlearnApp(catalog=catalog, db=db)
    async with app.run_test(size=(110, 36)) as pilot:
        app.action_go("portfolio")
        await pilot.pause()
        assert type(app.screen).__name__ == "PortfolioScreen"
        assert app.screen.body == portfolio.to_markdown(portfolio.build(catalog, db))
        shown = app.screen.query_one("#doc", Markdown).source
        assert "## Labs and projects passed" in shown and "| n=2^26 fp32 | NVIDIA H100 80GB HBM3 |" in shown
        await pilot.press("w")
        await pilot.pause()
        out = vlearn_home / "portfolio"
        assert (out / "portfolio.md").read_text() == app.screen.body
        assert "<svg" in (out / "portfolio.html").read_text()
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ != "PortfolioScreen"


@pytest.fixture
def frozen(monkeypatch):
    """Every stamp the seed writes (runs, ticks, drills, the rubric) at NOW, for a stable snapshot."""
    from tui.core.store import progress

    monkeypatch.setattr(progress, "now", lambda: NOW.astimezone())


def test_portfolio_snapshot(frozen, snap_compare, seeded):
    """The screen over the seeded history, every date pinned."""
    from tui.app import VlearnApp
    from tui.screens.portfolio import PortfolioScreen

    catalog, db = seeded

    async def open_portfolio(pilot) -> None:
        pilot.app.push_screen(PortfolioScreen(now=NOW))
        for _ in range(5):
            await pilot.pause()
        pilot.app.clear_notifications()  # the Today screen's "ticked" notices, not part of this screen
        await pilot.pause()

    assert snap_compare(VlearnApp(catalog=catalog, db=db), terminal_size=(100, 32), run_before=open_portfolio)
