"""Pilot tests: a full drill on a test-driven clock, a scripted interview,
and a kill mid-drill that keeps the autosaved answer."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from tui.app import VlearnApp
from tui.core.content import load_catalog
from tui.core.store import open_store

FIXTURE = Path(__file__).parent / "fixtures" / "content"
REPO = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_app(home: Path) -> VlearnApp:
    return VlearnApp(catalog=load_catalog(FIXTURE), db=open_store(home / "progress.db"))


async def test_a_full_drill_with_hints_autosave_time_up_and_rubric(vlearn_home):
    from tui.screens.drill import DrillScreen

    app = make_app(vlearn_home)
    clock = FakeClock()
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        screen = DrillScreen("t-question", clock=clock)
        app.push_screen(screen)
        await pilot.pause()
        assert "10:00" in str(screen.query_one("#drill-clock").render())
        await pilot.press("enter")  # the clock starts on a key
        await pilot.press(*"2*32*8*128*2")
        await pilot.press("ctrl+g")  # at 0 s the first hint (mark 200 s) is early
        clock.now += 6
        screen.tick()
        row = app.db["drills"].get(screen.drill.id)
        assert row["answer"] == "2*32*8*128*2" and row["status"] == "running"
        assert json.loads(row["hints_used"]) == [{"index": 0, "at_s": 0.0, "early": True}]
        clock.now += 600  # past the 10-minute limit
        screen.tick()
        await pilot.pause()
        assert screen.reviewing and app.db["drills"].get(screen.drill.id)["status"] == "timed_out"
        await pilot.press("space", "down", "space")  # tick rubric points 0 and 1
        await pilot.press("ctrl+s")
        await pilot.pause()
        row = app.db["drills"].get(screen.drill.id)
        assert row["status"] == "graded" and row["score"] == 0.5 and json.loads(row["rubric_ticks"]) == [0, 1]
        assert type(app.screen).__name__ == "TodayScreen"


async def test_submit_before_time_is_a_submission(vlearn_home):
    from tui.screens.drill import DrillScreen

    app = make_app(vlearn_home)
    clock = FakeClock()
    async with app.run_test(size=(110, 40)) as pilot:
        screen = DrillScreen("t-q2", clock=clock)
        app.push_screen(screen)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.press(*"keeps the batch full")
        clock.now += 30
        await pilot.press("ctrl+s")
        await pilot.pause()
        row = app.db["drills"].get(screen.drill.id)
        assert row["status"] == "submitted" and row["elapsed_s"] == 30.0 and row["answer"] == "keeps the batch full"


async def test_a_scripted_interview_from_start_to_summary(vlearn_home):
    from tui.core.interview import ScriptedDriver
    from tui.screens.interview import InterviewScreen

    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 40)) as pilot:
        screen = InterviewScreen(None, driver=ScriptedDriver(), rng=random.Random(7))
        app.push_screen(screen)
        await pilot.pause()
        await pilot.press("enter")  # the only interviewer
        await app.workers.wait_for_complete()
        await pilot.pause()
        session = screen.session
        first = session.current
        assert len(session.questions) == 2
        for _ in range(1 + min(2, len(first.follow_ups))):  # the answer, then each follow-up
            await pilot.press(*"an answer")
            await pilot.press("ctrl+s")
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert session.current is not first
        second = session.current
        for _ in range(1 + min(2, len(second.follow_ups))):
            await pilot.press(*"another")
            await pilot.press("ctrl+s")
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert session.done and [q.id for q in screen.grading] == [first.id, second.id]
        await pilot.press("space", "ctrl+s")  # one point for the first question
        await pilot.pause()
        await pilot.press("ctrl+s")  # none for the second
        await pilot.pause()
        row = app.db["interviews"].get(session.id)
        assert row["status"] == "finished"
        grades = {g["question_id"]: g["score"] for g in app.db["interview_grades"].rows}
        assert grades == {first.id: 1 / len(first.rubric), second.id: 0.0}
        roles = [t["role"] for t in session.transcript()]
        assert roles.count("candidate") == len(session.answers[first.id]) + len(session.answers[second.id])


DRILLER = """
import asyncio, sys
from pathlib import Path
from tui.app import VlearnApp
from tui.core.content import load_catalog
from tui.core.store import open_store
from tui.screens.drill import DrillScreen

class Clock:
    now = 0.0
    def __call__(self): return self.now

async def main():
    clock = Clock()
    app = VlearnApp(catalog=load_catalog(Path(sys.argv[2])), db=open_store(Path(sys.argv[1]) / "progress.db"))
    async with app.run_test() as pilot:
        screen = DrillScreen("t-question", clock=clock)
        app.push_screen(screen)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.press(*"half an answer")
        clock.now += 6
        screen.tick()                     # the autosave is due
        print("saved", flush=True)
        await pilot.press(*" and more")   # typed after the autosave: may be lost
        await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_killing_the_app_mid_drill_keeps_the_autosaved_answer(vlearn_home):
    proc = subprocess.Popen([sys.executable, "-c", DRILLER, str(vlearn_home), str(FIXTURE)],
                            stdout=subprocess.PIPE, text=True, cwd=REPO, env=os.environ.copy())
    try:
        assert proc.stdout.readline().strip() == "saved"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    from tui.screens.drill import DrillScreen

    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 40)) as pilot:
        screen = DrillScreen("t-question", clock=FakeClock())
        app.push_screen(screen)
        await pilot.pause()
        assert screen.resumed
        assert screen.query_one("#scratch").text == "half an answer"
        assert screen.drill.elapsed() == 6.0  # paused at the autosave
        assert "Paused at 00:06 of 10:00" in str(screen.query_one("#drill-clock").render())


async def test_opening_a_drill_starts_nothing_and_leaving_pauses(vlearn_home):
    """From a lesson's question: link: the question and its time first; the clock
    starts on enter; leaving keeps the time spent, and coming back is paused."""
    from tui.screens.drill import DrillScreen

    app = make_app(vlearn_home)
    clock = FakeClock()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_item("lesson", "t-intro")
        await pilot.pause()
        app.screen.follow("question:t-question")
        await pilot.pause()
        assert isinstance(app.screen, DrillScreen) and not app.screen.drill.running
        await pilot.press("escape")
        await pilot.pause()
        app.push_screen(DrillScreen("t-question", clock=clock))  # the same, on a clock the test drives
        await pilot.pause()
        screen = app.screen
        clock.now += 120  # reading the question costs nothing
        screen.tick()
        status = str(screen.query_one("#drill-clock").render())
        assert "10:00 to answer" in status and "enter starts the clock" in status
        assert app.db["drills"].count == 0 and screen.query_one("#scratch").disabled
        await pilot.press("enter", *"two tensors")
        clock.now += 90
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.lesson.id == "t-intro"
        clock.now += 1000  # away: the clock does not run
        again = DrillScreen("t-question", clock=clock)
        app.push_screen(again)
        await pilot.pause()
        assert again.resumed and again.drill.elapsed() == 90.0
        assert "Paused at 01:30 of 10:00" in str(again.query_one("#drill-clock").render())
        await pilot.press("enter")
        clock.now += 30
        assert again.drill.remaining() == 600 - 120
        assert again.query_one("#scratch").text == "two tensors"


async def test_going_elsewhere_by_a_global_key_pauses_the_drill(vlearn_home):
    from tui.screens.drill import DrillScreen

    app = make_app(vlearn_home)
    clock = FakeClock()
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.pause()
        screen = DrillScreen("t-question", clock=clock)
        app.push_screen(screen)
        await pilot.pause()
        await pilot.press("enter")
        clock.now += 42
        app.action_go("plan")  # a key that reaches the app while the answer box is not focused
        await pilot.pause()
        clock.now += 500
        assert not screen.drill.running and screen.drill.elapsed() == 42.0
        assert app.db["drills"].get(screen.drill.id)["elapsed_s"] == 42.0


async def test_ctrl_e_ends_the_interview_even_from_the_answer_box(vlearn_home):
    from tui.core.interview import ScriptedDriver
    from tui.screens.interview import InterviewScreen

    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 40)) as pilot:
        screen = InterviewScreen("t-iv", driver=ScriptedDriver(), rng=random.Random(1))
        app.push_screen(screen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"my answer")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"half typed")  # focus is in the answer box
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert screen.session.done and [q.id for q in screen.grading] == [screen.session.questions[0].id]


async def test_interview_shows_your_words_as_typed_and_one_count_of_questions(vlearn_home):
    from tui.core.interview import ScriptedDriver
    from tui.screens.interview import InterviewScreen

    app = make_app(vlearn_home)
    async with app.run_test(size=(110, 40)) as pilot:
        screen = InterviewScreen("t-iv", driver=ScriptedDriver(), rng=random.Random(1))
        app.push_screen(screen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"(128*64+64*256)*2 bytes")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        mine = screen.query(".you").last()
        assert str(mine.render()) == "You: (128*64+64*256)*2 bytes"
        await pilot.press("ctrl+e")  # end with the first of two questions answered
        await pilot.pause()
        await pilot.press("ctrl+s")  # grade it
        await pilot.pause()
        status = str(screen.query_one("#iv-status").render())
        summary = screen.query(".summary").last().source
        assert "1 of 2 questions answered" in status and summary.startswith("**Summary:** 1 of 2 questions answered")
