"""A timed whiteboard drill: the question and its time first, the clock on
enter, hints at time marks, an autosaved scratchpad, then the model answer
beside yours and the rubric to tick. Leaving (or any screen over it) pauses."""
from __future__ import annotations

import time

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Header, Markdown, SelectionList, Static, TextArea

from ..core import drills
from ..widgets.footer import KeyFooter


def clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class DrillScreen(Screen):
    BINDINGS = [
        Binding("enter", "start", "Start the clock"),  # the answer box, once focused, takes enter as a new line
        Binding("ctrl+g", "hint", "Hint"),  # not ctrl+h: many terminals send it as backspace
        Binding("ctrl+s", "submit", "Submit / save grade"),
        Binding("ctrl+r", "run_lab", "Run against lab"),
        Binding("escape", "leave", "Leave (pauses)"),
    ]

    def __init__(self, question_id: str | None = None, clock=time.monotonic) -> None:
        super().__init__()
        self.drill, self.resumed = drills.open_drill(self.app.db, self.app.catalog, question_id, clock)
        self.question = self.drill.question
        self.last_save_at = self.drill.elapsed()
        self.reviewing = False

    def compose(self) -> ComposeResult:
        q = self.question
        yield Header()
        yield Static(id="drill-clock")
        with Vertical(id="drill-work"):
            with VerticalScroll(id="drill-prompt"):
                yield Markdown(f"## {q.title}\n\n{q.prompt}")
                yield Static(self.hints_text(), id="drill-hints")
            yield TextArea(self.drill.answer, id="scratch", soft_wrap=True, show_line_numbers=True, disabled=True,
                           placeholder="Your answer, once the clock runs (autosaved as you type)")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    # -- the clock ----------------------------------------------------------
    def action_start(self) -> None:
        self.drill.start()
        scratch = self.query_one("#scratch", TextArea)
        scratch.disabled = False
        scratch.focus()
        self.refresh_bindings()
        self.tick()

    def pause(self) -> None:
        if self.drill.running and not self.reviewing:
            self.drill.pause(self.query_one("#scratch", TextArea).text)
            self.query_one("#scratch", TextArea).disabled = True
            self.refresh_bindings()
            self.tick()

    def on_screen_suspend(self) -> None:
        if not isinstance(self.app.screen, ModalScreen):  # help or the palette over it: the clock runs on
            self.pause()

    def on_unmount(self) -> None:
        if self.drill.running and not self.reviewing:  # the app quit under it
            scratch = self.query("#scratch")
            self.drill.pause(scratch.first(TextArea).text if scratch else None)

    def tick(self) -> None:
        """Called every second (and by tests with their own clock)."""
        if self.reviewing:
            return
        drill = self.drill
        if not drill.running:
            limit = clock_text(drill.limit_s)
            if drill.elapsed():
                where = f"[b]Paused[/b] at {clock_text(drill.elapsed())} of {limit}, answer kept · enter carries on"
            else:
                where = f"[b]{limit}[/b] to answer · read the question, then enter starts the clock"
            hints = f" · {len(self.question.hints)} hints unlock as time passes" if self.question.hints else ""
            self.query_one("#drill-clock", Static).update(where + hints)
            return
        if drill.elapsed() - self.last_save_at >= drills.AUTOSAVE_EVERY_S:
            self.autosave()
        if drill.timed_out:
            self.notify("Time is up.", severity="warning")
            self.finish()
            return
        total, taken = len(self.question.hints), len(drill.taken_hints())
        following = drill.next_hint()
        if following is None:
            hints = f"hints {taken}/{total} taken"
        elif drill.elapsed() >= drill.hint_mark(following):
            hints = f"hints {taken}/{total} taken · hint {following + 1} is free now (ctrl+g)"
        else:
            free_in = clock_text(drill.hint_mark(following) - drill.elapsed())
            hints = f"hints {taken}/{total} taken · hint {following + 1} is free in {free_in} (ctrl+g now counts as early)"
        self.query_one("#drill-clock", Static).update(
            f"[b]{clock_text(drill.remaining())}[/b] left of {clock_text(drill.limit_s)} · {hints}"
            + (f" · lab {self.question.lab} (ctrl+r runs your answer)" if self.question.lab else "")
        )

    def autosave(self) -> None:
        """The answer and the time spent (so a crash loses at most a few seconds of either)."""
        text = self.query_one("#scratch", TextArea).text
        self.drill.autosave(text)
        self.last_save_at = self.drill.elapsed()

    def hints_text(self) -> str:
        return "\n".join(f"[b]Hint {i + 1}[/b]: {escape(self.question.hints[i])}" for i in self.drill.taken_hints())

    # -- actions ------------------------------------------------------------
    def action_hint(self) -> None:
        if self.reviewing:
            return
        index = self.drill.next_hint()
        if index is None:
            self.notify("No more hints.")
            return
        early = self.drill.elapsed() < self.drill.hint_mark(index)
        self.drill.take_hint(index)
        self.query_one("#drill-hints", Static).update(self.hints_text())
        if early:
            self.notify("Taken before its time mark: recorded as an early hint.")
        self.tick()  # the status line counts it at once

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "start":
            return not self.drill.running and not self.reviewing
        if action in ("hint", "run_lab") or (action == "submit" and not self.reviewing):
            if not self.drill.running:
                return False
        if action == "run_lab":  # offered only for questions that name a lab
            return bool(self.question.lab and self.question.lab in self.app.catalog.labs)
        return True

    def action_submit(self) -> None:
        if self.reviewing:
            self.save_grade()
        else:
            self.finish()

    def finish(self) -> None:
        self.drill.finish(self.query_one("#scratch", TextArea).text)
        self.reviewing = True
        self.show_review()

    def show_review(self) -> None:
        q, drill = self.question, self.drill
        work_area = self.query_one("#drill-work")
        work_area.remove_children()
        how = "time ran out" if drill.status == "timed_out" else "submitted"
        self.query_one("#drill-clock", Static).update(
            f"[b]{how}[/b] after {clock_text(min(drill.elapsed(), drill.limit_s))} · "
            "tick the points your answer covers: ↑/↓ move, space ticks, ctrl+s saves the grade"
        )
        side = Horizontal(
            # Plain text that wraps: a code block would cut long lines at the pane edge.
            VerticalScroll(Static("[b]Your answer[/b]\n"), Static(drill.answer or "(empty)", markup=False),
                           id="drill-yours"),
            VerticalScroll(Markdown(f"### Model answer\n\n{q.model_answer}\n\n{drills.levels_markdown(q)}"),
                           id="drill-model"),
            id="drill-compare",
        )
        rubric = SelectionList[int](*[(point, i) for i, point in enumerate(q.rubric)], id="drill-rubric")
        work_area.mount(side, rubric)
        rubric.focus()

    def save_grade(self) -> None:
        ticks = list(self.query_one("#drill-rubric", SelectionList).selected)
        score = self.drill.grade(ticks)
        self.notify(f"Scored {score:.0%} ({len(ticks)}/{len(self.question.rubric)} rubric points).")
        self.app.pop_screen()

    def action_run_lab(self) -> None:
        if not self.question.lab or self.question.lab not in self.app.catalog.labs:
            self.notify("This question has no lab to run against.", severity="warning")
            return
        self.autosave()
        self.run_lab(self.drill.answer)

    @work(thread=True, exclusive=True)
    def run_lab(self, answer: str) -> None:
        result = drills.run_answer_against_lab(self.app.catalog, self.question, answer)
        self.app.call_from_thread(self.notify, f"{self.question.lab}: {result.summary()}",
                                  severity="information" if result.ok else "warning", timeout=10)

    def action_leave(self) -> None:
        if self.drill.running and not self.reviewing:
            self.pause()
            self.notify("Paused with your answer saved; open the drill again to carry on.")
        self.app.pop_screen()
