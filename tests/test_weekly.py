"""The weekly review over the real plan and a seeded history: deliverables, milestones
beside their evidence, the cards forgotten and the drills scored, nothing invented."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tui.core import drills, srs, weekly
from tui.core.content import load_catalog
from tui.core.store import open_store

REPO = Path(__file__).resolve().parents[1]


def test_week_two_review_from_a_seeded_history(vlearn_home):
    catalog = load_catalog()
    db = open_store(vlearn_home / "progress.db")
    day8 = catalog.days[8]
    card = next(c for c in catalog.cards.values() if c.deck in day8.cards)
    for rating in (1, 1, 3):  # forgotten twice, then recalled
        srs.grade(db, card.id, rating)
    drill = drills.Drill(db, catalog.questions[day8.drill]).start()
    drill.finish("my answer")
    drill.grade([0, 1])  # 2 of the rubric's points
    text = weekly.review_markdown(catalog, db, 2)
    assert text.startswith("## Week 2 review (from your records)")
    assert "- [ ] Day 8: " in text and "— open" in text  # a deliverable per day page that has one
    assert "**Can analyse CUDA kernel performance**" in text and "CUDA kernels: " in text
    assert f"`{card.id}` — " in text and "(Again ×2 of 3)" in text
    score = 2 / len(catalog.questions[day8.drill].rubric)
    assert f"{catalog.questions[day8.drill].title}: best {score:.0%}" in text
    assert weekly.last_day_of_week(catalog, 14) == 2 and weekly.last_day_of_week(catalog, 13) is None
    db.close()


def test_every_week_has_its_three_milestones_and_the_cli_refuses_a_week_not_planned(vlearn_home):
    catalog = load_catalog()
    assert {w: sum(m.week == w for m in catalog.milestones.values()) for w in range(1, 5)} == {1: 3, 2: 3, 3: 3, 4: 3}
    env = os.environ | {"VLEARN_HOME": str(vlearn_home)}
    ok = subprocess.run([sys.executable, "-m", "tui.cli", "week", "3"], capture_output=True, text=True, env=env, cwd=REPO)
    assert ok.returncode == 0 and "## Week 3 review" in ok.stdout and "Knows the scheduling algorithms" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "tui.cli", "week", "9"], capture_output=True, text=True, env=env, cwd=REPO)
    assert bad.returncode == 2 and "week 9 is not in the plan" in bad.stderr and "Traceback" not in bad.stderr
