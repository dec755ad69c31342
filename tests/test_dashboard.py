"""The progress dashboard: its figures from a seeded progress.db, the study-time
estimate, the progress export, and the screen driven by Pilot."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from test_gaps import NOW, make_content, seed  # the same seeded evidence as the gap tests
from textual.widgets import Static

from tui.app import VlearnApp
from tui.core import progress_export, srs
from tui.core import rubric as rubric_store
from tui.core.content import load_catalog
from tui.core.labs.runner import RunResult, record_run
from tui.core.store import open_store, progress
from tui.screens.dashboard import DashboardScreen
from tui.screens.rubric import RubricScreen


def seeded(tmp_path, vlearn_home):
    catalog = load_catalog(make_content(tmp_path / "content"))
    db = open_store(vlearn_home / "progress.db")
    seed(db, catalog)
    return catalog, db


def test_summary_counts_the_seeded_evidence(tmp_path, vlearn_home):
    catalog, db = seeded(tmp_path, vlearn_home)
    for item, _ in catalog.days[1].checklist():
        progress.set_done(db, 1, item, True)
    data = progress_export.summary(db, catalog, now=NOW)
    assert data["plan"]["days_done"] == 1 and data["plan"]["days_total"] == 3  # every day the plan lists, as Plan counts them
    assert data["lessons"] == {"read": 1, "total": 3}
    assert data["labs"]["python"] == {"passed": 2, "total": 3}
    assert data["projects"] == [{"id": "proj-pa", "title": "PA project", "stages_passed": 1, "stages_total": 2}]
    assert data["cards"]["new"] == 4 and data["cards"]["learning"] == 8
    assert data["drills"] == {"count": 4, "average": 0.6875}
    assert data["interviews"] == {"count": 0, "average": None}
    assert data["reviews_per_day"][NOW.astimezone().date().isoformat()] == 8
    assert [a["average"] for a in data["rubric"]["assessments"]] == [3.5]
    assert data["rubric"]["target"] == 4
    db.close()


def test_study_time_merges_nearby_activity_into_sessions(vlearn_home):
    db = open_store(vlearn_home / "progress.db")
    day = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for h, m in ((9, 0), (9, 10), (9, 20), (14, 0)):
        progress.log_activity(db, "tick", "x", day.replace(hour=h, minute=m))
    # a failed run logs no activity of its own; it runs 14:02-14:12
    record_run(db, RunResult(lab_id="l", kind="lab", dir_kind="workspace", target=Path("."), status="failed",
                             started_at=day.replace(hour=14, minute=2).isoformat(), duration=600.0))
    # 08:55-09:20 (25 min) and 13:55-14:12 (17 min)
    assert progress_export.study_minutes(db) == (42.0, 2)
    db.close()


def test_retention_over_the_last_30_days(vlearn_home, catalog):
    db = open_store(vlearn_home / "progress.db")
    cards = list(catalog.cards)[:3]
    for cid in cards:
        srs.grade(db, cid, 4, NOW - dt.timedelta(days=40))  # Easy: straight to review
    srs.grade(db, cards[0], 1, NOW - dt.timedelta(days=35))  # outside the window
    srs.grade(db, cards[1], 1, NOW - dt.timedelta(days=2))
    srs.grade(db, cards[2], 3, NOW - dt.timedelta(days=1))
    assert progress_export.retention(db, 30, NOW) == {"days": 30, "recalled": 1, "answers": 2, "rate": 0.5}
    db.close()


def test_export_json_keeps_numbers_numeric(tmp_path, vlearn_home):
    catalog, db = seeded(tmp_path, vlearn_home)
    data = json.loads(progress_export.export_progress(db, catalog))
    assert data["lessons"]["read"] == 1 and len(data["rubric"]["history"]) == 1
    assert data["rubric"]["history"][0]["scores"]["paged_attention.optimize"] == 5
    assert {r["id"]: r["confidence"] for r in data["gaps"]["components"]}["paged_attention"] == "over-confident"
    assert data["drills"]["average"] == 0.6875
    db.close()


@pytest.mark.parametrize("target", ["tables", "tables.zip"])
def test_export_tidy_csv_one_table_per_record_kind(tmp_path, vlearn_home, target):
    import zipfile

    catalog, db = seeded(tmp_path, vlearn_home)
    out = tmp_path / "out" / target
    names = progress_export.write_tidy_csv(db, str(out))
    assert names == ["reviews.csv", "lab_runs.csv", "drills.csv", "interviews.csv", "rubric_history.csv"]
    if target.endswith(".zip"):
        with zipfile.ZipFile(out) as archive:
            texts = {n: archive.read(n).decode() for n in archive.namelist()}
    else:
        texts = {n: (out / n).read_text() for n in names}
    tables = {n: list(csv.DictReader(io.StringIO(t))) for n, t in texts.items()}
    rubric = tables["rubric_history.csv"]
    assert list(rubric[0]) == ["assessment_id", "at", "date", "component", "dimension", "score"]
    assert {(r["component"], r["dimension"]): int(r["score"]) for r in rubric}[("paged_attention", "optimize")] == 5
    drills = tables["drills.csv"]
    assert sorted(float(r["score"]) for r in drills if r["score"]) and all(r["drill_id"].isdigit() for r in drills)
    reviews = tables["reviews.csv"]
    assert reviews and all(r["rating"] in {"1", "2", "3", "4"} for r in reviews)
    assert all(r["duration_ms"] == "" or r["duration_ms"].isdigit() for r in reviews)  # NULL is an empty field
    assert list(tables["interviews.csv"][0]) if tables["interviews.csv"] else texts["interviews.csv"].startswith("interview_id,")
    try:
        import pandas
    except ImportError:
        return
    if not target.endswith(".zip"):
        frame = pandas.read_csv(out / "rubric_history.csv")
        assert str(frame["score"].dtype).startswith("int") and len(frame) == len(rubric)
    db.close()


def section(screen, i: int) -> str:
    return str(screen.query_one(f"#dash-section-{i}", Static).render())


async def test_dashboard_screen_shows_progress_and_follows_the_rubric(tmp_path, vlearn_home):
    catalog, db = seeded(tmp_path, vlearn_home)
    srs.grade(db, "ck-3", 3)  # a review today, for the chart
    app = VlearnApp(catalog=catalog, db=db)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        app.push_screen(DashboardScreen())
        await pilot.pause()
        screen = app.screen
        overview = section(screen, 0)
        assert "Lessons read   1/3" in overview and "python 2/3" in overview and "proj-pa 1/2" in overview
        assert "Drills graded  4, average" in overview and "(estimated)" in overview
        assert "over-confident" in section(screen, 1) and "under-confident" in section(screen, 1)
        assert "not enough evidence yet" in section(screen, 1)
        assert "█" in section(screen, 2)
        assert "3.50" in section(screen, 3) and "↑ target 4" in section(screen, 3)
        await pilot.press("R")
        assert isinstance(app.screen, RubricScreen)
        await pilot.press("5", "ctrl+s", "escape")
        await pilot.pause()
        assert app.screen is screen
        assert len(rubric_store.history(db)) == 2
        assert section(screen, 3).count("│") == 2  # the new assessment is charted on return
        spark = screen.query_one("#dash-rubric-spark")
        assert spark.display and len(spark.data) == 2 and spark.data[0] == 3.5  # two assessments: a trend
        await pilot.press("o")  # the portfolio is one key from the progress it is built from
        await pilot.pause()
        assert type(app.screen).__name__ == "PortfolioScreen"
    db.close()
