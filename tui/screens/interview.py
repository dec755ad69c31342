"""A mock interview: pick an interviewer, answer, get followed up, grade."""
from __future__ import annotations

import random

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, OptionList, SelectionList, Static, TextArea
from textual.widgets.option_list import Option

from ..core import interview
from ..core.drills import levels_markdown
from ..core.text import plural
from ..widgets.footer import KeyFooter
from .drill import clock_text


class InterviewScreen(Screen):
    DEFAULT_CSS = "InterviewScreen .you { margin-bottom: 1; }"
    BINDINGS = [
        Binding("ctrl+s", "send", "Send answer / save grade"),
        Binding("ctrl+e", "end", "End interview", priority=True),  # the answer box would take it as end-of-line
        Binding("escape", "app.pop_screen", "Leave"),
    ]

    def __init__(self, interviewer_id: str | None = None, driver=None, rng: random.Random | None = None) -> None:
        super().__init__()
        self.interviewer_id = interviewer_id
        self.driver = driver
        self.rng = rng or random.Random()
        self.session: interview.InterviewSession | None = None
        self.grading: list = []  # questions still to self-grade
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Choose an interviewer (enter).", id="iv-status")
        yield OptionList(*[Option(f"{iv.title} — {iv.focus}", id=iv.id) for iv in self.app.catalog.interviewers.values()], id="iv-pick")
        yield VerticalScroll(id="iv-transcript")
        yield TextArea(id="iv-answer", soft_wrap=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#iv-answer").display = False
        if self.interviewer_id:
            self.begin(self.interviewer_id)
        else:
            self.query_one("#iv-pick").focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.begin(event.option.id)

    def begin(self, interviewer_id: str) -> None:
        self.query_one("#iv-pick").display = False
        self.query_one("#iv-answer").display = True
        driver = self.driver or interview.driver_for(self.app.db)
        interviewer = self.app.catalog.interviewers[interviewer_id]
        self.session = interview.InterviewSession(self.app.db, self.app.catalog, interviewer, driver=driver, rng=self.rng)
        self.query_one("#iv-answer", TextArea).focus()
        self.set_interval(1.0, self.show_status)
        self.converse(None)

    # -- transcript ----------------------------------------------------------
    def add_turn(self, who: str, text: str = ""):
        if who == "You":  # your words as typed: '(128*64+64*256)*2' is arithmetic, not emphasis
            widget = Static(Text.assemble((f"{who}: ", "bold"), text), classes="turn you")
            self.query_one("#iv-transcript").mount(widget)
            self.query_one("#iv-transcript").scroll_end(animate=False)
            return widget
        widget = Markdown(f"**{who}:** {text}", classes=f"turn {who.lower()}")
        widget.raw = text
        widget.who = who
        self.query_one("#iv-transcript").mount(widget)
        self.query_one("#iv-transcript").scroll_end(animate=False)
        return widget

    def stream_into(self, widget: Markdown):
        def on_text(piece: str) -> None:
            widget.raw += piece
            self.app.call_from_thread(widget.update, f"**{widget.who}:** {widget.raw}")
        return on_text

    def show_status(self) -> None:
        s = self.session
        if s is None:
            return
        if not s.questions:
            where = "no questions"
        elif s.done:  # the same count as the summary
            where = f"{len(s.answers)} of {plural(len(s.questions), 'question')} answered"
        else:
            where = f"question {s.position + 1} of {len(s.questions)}"
        self.query_one("#iv-status", Static).update(
            f"[b]{s.interviewer.title}[/b] · {where} · {clock_text(s.elapsed())} elapsed · {s.driver.name}"
        )

    # -- the conversation (in a thread: the model may stream) ----------------
    @work(thread=True, exclusive=True)
    def converse(self, answer: str | None) -> None:
        s = self.session
        self.busy = True
        try:
            if answer is None:
                box = self.app.call_from_thread(self.add_turn, "Interviewer")
                s.start(self.stream_into(box))
                self._ask_next()
                return
            box = self.app.call_from_thread(self.add_turn, "Interviewer")
            follow = s.answer(answer, self.stream_into(box))
            if follow is None:
                self.app.call_from_thread(box.remove)
                self._ask_next()
        finally:
            self.busy = False
            self.app.call_from_thread(self._show_notices)

    def _ask_next(self) -> None:
        s = self.session
        box = self.app.call_from_thread(self.add_turn, "Interviewer")
        if s.next_question(self.stream_into(box)) is None:
            self.app.call_from_thread(box.remove)
            s.auto_grade()
            self.app.call_from_thread(self.start_grading)

    def _show_notices(self) -> None:
        shown = getattr(self, "_shown_notices", 0)
        for notice in self.session.notices[shown:]:
            self.add_turn("Notice", notice)
            self.notify(notice, severity="warning", timeout=10)
        self._shown_notices = len(self.session.notices)

    def action_send(self) -> None:
        if self.session is None or self.busy:
            return
        if self.grading:
            self.save_self_grade()
            return
        box = self.query_one("#iv-answer", TextArea)
        text = box.text.strip()
        if not text or self.session.done:
            return
        box.text = ""
        self.add_turn("You", text)
        self.converse(text)

    def action_end(self) -> None:
        if self.session and not self.grading and not self.busy:
            self.session.stop_asking()
            self.session.auto_grade()
            self.start_grading()

    # -- grading ----------------------------------------------------------------
    def start_grading(self) -> None:
        s = self.session
        self.grading = [q for q in s.questions if q.id in s.answers and q.id not in s.grades]
        for q in s.questions:
            if q.id in s.grades:
                g = s.grades[q.id]
                self.add_turn("Grade", f"{q.title}: {g.score:.0%} ({g.graded_by}). {g.feedback}")
        self.query_one("#iv-answer").display = False
        self.next_grade()

    def next_grade(self) -> None:
        for old in self.query(".iv-rubric"):
            old.remove()
        if not self.grading:
            summary = self.session.finish()
            mean = summary["mean_score"]
            answered = f"{summary['questions']} of {plural(len(self.session.questions), 'question')} answered"
            self.add_turn("Summary", f"{answered} in {summary['minutes']:g} min; "
                          + (f"mean score {mean:.0%}." if mean is not None else "no graded answers."))
            self.show_status()
            return
        q = self.grading[0]
        self.add_turn("Grade yourself", f"**{q.title}** — model answer:\n\n{q.model_answer}\n\n{levels_markdown(q)}\n\n"
                      "Tick the points you covered, then ctrl+s.")
        self.rubric = SelectionList[int](*[(p, i) for i, p in enumerate(q.rubric)], classes="iv-rubric")
        self.mount(self.rubric, before=self.query_one(Footer))
        self.rubric.focus()

    def save_self_grade(self) -> None:
        q = self.grading.pop(0)
        ticks = list(self.rubric.selected)
        grade = self.session.self_grade(q.id, ticks)
        self.add_turn("Grade", f"{q.title}: {grade.score:.0%}")
        self.next_grade()
