"""The lab screen (instructions, files, live results, hints) and the lab list.

Thin: the workspace, runner and watcher live in tui.core.labs. The watcher
runs in a thread worker and hands results back with call_from_thread, each
test as it finishes and then the whole run; runs are recorded here, on the UI
thread, so SQLite is only written from one thread. Every row of the results
table can be selected; the pane under it shows that test in full.
"""
from __future__ import annotations

import asyncio
import shlex
import threading

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Header, Label, Markdown, Static

from ..core.content.labs import all_labs, find
from ..core.labs import remote
from ..core.labs import runner as labrunner
from ..core.labs.gpu import cpu_twin, has_gpu
from ..core.labs.watcher import watch_labs
from ..core.labs.workspace import (
    diff_against_solution,
    editable_files,
    ensure_workspace,
    reset_workspace,
)
from ..widgets.footer import KeyFooter

MARK = {"passed": "[green]✔[/]", "failed": "[red]✘[/]", "error": "[red]![/]", "skipped": "[yellow]–[/]"}
STATE_MARK = {"passed": "[green]✔ passed[/]", "in progress": "[yellow]… in progress[/]", "not started": "[dim]· not started[/]"}


def _runner(app):
    return getattr(app, "lab_runner", None) or labrunner.shared_runner()


def progress_line(db, catalog) -> str:
    parts = [f"{track} {done}/{total}" for track, (done, total) in labrunner.track_progress(db, catalog).items()]
    return "progress: " + ("  ·  ".join(parts) if parts else "no labs")


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.question, markup=False)
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class DiffScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,d", "dismiss", "Close")]

    def __init__(self, title: str, diff: str) -> None:
        super().__init__()
        self.title_text, self.diff = title, diff

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="diff"):
            yield Static(self.title_text, markup=False)
            body = Syntax(self.diff, "diff", word_wrap=True) if self.diff else Text("Your files match the solution exactly.")
            yield Static(body, id="diff-body")
        yield KeyFooter()


def pack(parts: list[Text], width: int, sep: str = " · ") -> Text:
    """Join phrases with `sep`, breaking lines only between phrases, never inside one."""
    out, line = Text(), Text()
    for part in parts:
        if line and line.cell_len + len(sep) + part.cell_len > width:
            out.append_text(line)
            out.append("\n")
            line = Text()
        if line:
            line.append(sep, style="dim")
        line.append_text(part)
    out.append_text(line)
    return out


GPU_WORDS = {"none": "no GPU needed", "optional": "GPU optional", "required": "GPU required"}


def row_name(test) -> str:
    return f"[{test.stage}] {test.name}" if test.stage else test.name


def detail(test, folder, quick: bool) -> Text:
    """Everything about one test: full message, Hypothesis' example, traceback, captured output."""
    text = Text(overflow="fold")
    name = row_name(test)
    text.append_text(Text.from_markup(MARK.get(test.outcome, test.outcome)))
    text.append(f" {name}", style="bold")
    text.append(f"  {test.outcome} in {test.duration:.3f} s\n", style="dim")
    example, message = test.example, test.text
    message = message[: message.find(example)] if example else message
    if message.strip():
        text.append(message.strip().replace(f"{folder}/", "") + "\n")
    if example:
        how = " (not shrunk: the quick run after a save; ctrl+r runs the full search)" if quick else ""
        text.append(f"\nHypothesis' example{how}:\n", style="bold")
        text.append(example + "\n")
    # The traceback's "E" lines repeat the message above: keep where it happened.
    where = [line for line in test.longrepr.rstrip().splitlines() if not (message.strip() and line.startswith("E "))]
    if any(line.strip() for line in where) and "\n".join(where).strip() != test.text.strip():
        text.append("\nwhere:\n", style="bold")
        text.append("\n".join(where).replace(f"{folder}/", "") + "\n")
    for label, stream in (("stdout", test.stdout), ("stderr", test.stderr)):
        if stream.strip():
            text.append(f"\n{label}:\n", style="bold")
            text.append(stream.rstrip() + "\n")
    return text


class LabScreen(Screen):
    # `r` stays Review, as everywhere: re-running is ctrl+r (or F5).
    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("e", "edit", "Edit"),
        Binding("ctrl+r", "run", "Re-run"),
        Binding("f5", "run", "Re-run", show=False),
        Binding("h", "hint", "Hint"),
        Binding("d", "diff", "Diff vs solution"),
        Binding("o", "open_twin", "Triton twin"),
        Binding("n", "next_lab", "Next lab"),
        Binding("x", "reset", "Reset"),
    ]
    # Below 120 columns the README sits above the results instead of beside them.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    DEFAULT_CSS = """
    LabScreen #lab-main { height: 1fr; }
    LabScreen.-wide #lab-main { layout: horizontal; }
    LabScreen.-wide #lab-readme { width: 2fr; }
    LabScreen.-wide #lab-right { width: 3fr; }
    LabScreen.-narrow #lab-main { layout: vertical; }
    LabScreen.-narrow #lab-readme { height: 1fr; min-height: 3; border-bottom: solid $primary; }
    LabScreen.-narrow #lab-right { height: 2fr; }
    LabScreen.-narrow #lab-progress { display: none; }
    LabScreen #lab-results { height: 1fr; min-height: 4; }
    LabScreen #lab-detail { height: 1fr; min-height: 4; border-top: solid $primary; }
    LabScreen #lab-hints { height: auto; max-height: 10; }
    LabScreen #lab-head, LabScreen #lab-files, LabScreen #lab-status, LabScreen #lab-progress { height: auto; }
    LabScreen #lab-suggest { height: auto; color: $warning; }
    ConfirmScreen, DiffScreen { align: center middle; }
    #confirm { width: 60; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    #diff { width: 90%; height: 1fr; margin: 1 0; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, lab_id: str) -> None:
        super().__init__()
        self.lab_id = lab_id
        self.item = None
        self.hints_shown = 0
        self.last_result = None
        self.folder = None  # the workspace copy under test
        self.shown: list = []  # the tests in the table, in row order
        self.running = False
        self.quick = False  # the run on screen is the quick one after a save
        self._stop = threading.Event()
        self.watch_ready = threading.Event()  # set once the watcher sees the workspace
        self.result_shown = asyncio.Event()  # set after each result is rendered

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        self.item = find(self.app.catalog, self.lab_id)
        yield Header()
        if self.item is None:
            yield Static(f"No lab or project '{self.lab_id}' in this content.", id="lab-head", markup=False)
            yield KeyFooter()
            return
        yield Static(id="lab-head")
        yield Static(id="lab-files")
        with Container(id="lab-main"):
            with VerticalScroll(id="lab-readme"):
                text = self.item.readme.read_text(encoding="utf-8") if self.item.readme.is_file() else "(no README)"
                yield Markdown(text, open_links=False)
            with Vertical(id="lab-right"):
                yield Static("Save a file (or press ctrl+r) to run the tests.", id="lab-status")
                yield Static(id="lab-suggest")
                yield DataTable(id="lab-results", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="lab-detail"):
                    yield Static(id="lab-detail-body")
                yield Static(id="lab-hints")
        yield Static(id="lab-progress")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.item is None:
            return
        self.folder = ensure_workspace(self.item)
        db = self.app.db
        self.hints_shown = min(labrunner.hints_shown(db, self.item.id), len(self.item.hints))
        self._refresh_head()
        self._refresh_hints()
        self._refresh_suggestion()
        last = labrunner.last_result(db, self.item.id)
        if last is not None:  # where the learner left off, until the next run
            self.call_after_refresh(self._render_result, last, f"last run {last.started_at.replace('T', ' ')[:16]}: ")
        runner = _runner(self.app)
        runner.remote = remote.configured(db)
        runner.warm_up()
        self.run_worker(self._watch, thread=True, exclusive=True, group="lab-watch", name=f"watch {self.lab_id}")

    def on_unmount(self) -> None:
        self._stop.set()

    def on_resize(self) -> None:
        if self.item is not None:
            self._refresh_head()
            self.call_after_refresh(self._fill_table)

    def _refresh_head(self) -> None:
        item = self.item
        state = labrunner.lab_state(self.app.db, item.id)
        kind = "project" if item.kind == "project" else f"{item.track} lab"
        # "· not started" reads as a stray separator between the header's phrases.
        mark = Text.from_markup(STATE_MARK[state.state].replace("· not started", "not started"))
        if state.first_pass_at:
            mark.append(f" (first pass {state.first_pass_at[:10]})", style="dim")
        meta = [Text(item.id), Text(kind), Text(f"day {item.day}"), Text(f"~{item.minutes} min"),
                Text(GPU_WORDS.get(item.gpu, f"GPU {item.gpu}")), mark]
        head = Text(item.title, style="bold")
        head.append("\n")
        head.append_text(pack(meta, max(self.size.width, 40)))
        self.query_one("#lab-head", Static).update(head)
        files = "\n".join(f"edit: {path}" for path in editable_files(item))
        self.query_one("#lab-files", Static).update(Text(files, style="bold"))
        self.query_one("#lab-progress", Static).update(progress_line(self.app.db, self.app.catalog))

    def _refresh_hints(self) -> None:
        hints = self.item.hints
        shown = [f"hint {i}: {h}" for i, h in enumerate(hints[: self.hints_shown], 1)]
        left = len(hints) - self.hints_shown
        shown.append(f"({left} hint{'s' if left != 1 else ''} left: press h)" if left else "(no more hints)")
        self.query_one("#lab-hints", Static).update(Text("\n".join(shown)))

    def _twin(self):
        return cpu_twin(self.app.catalog, self.item) if self.item is not None else None

    def _refresh_suggestion(self) -> None:
        """A GPU lab on a machine without a GPU: say what a save checks, and what would give a signal."""
        widget = self.query_one("#lab-suggest", Static)
        if self.item.gpu != "required" or has_gpu():
            widget.display = False
            return
        configured = remote.configured(self.app.db)
        if configured:
            words = f"No GPU here: the tests run on the remote GPU runner `{shlex.join(configured)}`."
        else:
            twin = self._twin()
            words = "No GPU here: a save checks the compile; correctness needs a GPU."
            if twin is not None:
                words += f" o: {twin.id}, the same kernel in Triton, runs on the CPU."
            words += f" Or a GPU machine: vlearn remote-runner 'ssh gpu-box' (or ${remote.ENV})."
        widget.update(Text(words))
        widget.display = True

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "open_twin":
            return self._twin() is not None and not has_gpu()
        return True

    # ------------------------------------------------------------ background work

    def _watch(self) -> None:
        """Thread worker: re-run this lab on every save until the screen goes."""
        watch_labs(
            self.app.catalog,
            on_result=lambda result: self.app.call_from_thread(self.show_result, result),
            stop=self._stop,
            only={self.lab_id},
            runner=_runner(self.app),
            on_start=lambda _lab: self.app.call_from_thread(self.show_running, True),
            on_ready=self.watch_ready.set,
            on_test=lambda test: self.app.call_from_thread(self.show_test, test),
        )

    def _run_now(self) -> None:
        result = _runner(self.app).run(self.item, "workspace", record=False,
                                       on_test=lambda test: self.app.call_from_thread(self.show_test, test))
        self.app.call_from_thread(self.show_result, result)

    def show_running(self, quick: bool = False) -> None:
        self.running, self.quick = True, quick
        self.shown = []
        self.query_one("#lab-results", DataTable).clear()
        self._show_detail(None)  # nothing stale while the new results come in
        self.query_one("#lab-status", Static).update("[yellow]running the tests…[/]")

    def show_test(self, test) -> None:
        """One test finished while the run goes on: add its row; the first failure is shown at once."""
        if not self.running:
            return
        first_failure = test.outcome in ("failed", "error") and not any(t.outcome in ("failed", "error") for t in self.shown)
        self.shown.append(test)
        self._add_row(test)
        failed = sum(t.outcome in ("failed", "error") for t in self.shown)
        self.query_one("#lab-status", Static).update(
            f"[yellow]running the tests… {len(self.shown) - failed} passed or skipped, {failed} failed so far[/]")
        if first_failure:
            self.query_one("#lab-results", DataTable).move_cursor(row=len(self.shown) - 1)
            self._show_detail(len(self.shown) - 1)

    def show_result(self, result) -> None:
        """On the UI thread: record the run, then render it."""
        before = labrunner.lab_state(self.app.db, self.item.id).state
        labrunner.record_run(self.app.db, result)
        self._render_result(result)
        self._refresh_head()
        if result.ok and before != "passed":
            self.notify(f"{self.item.title}: passed. Press d to compare with the solution.", title="Lab passed")
        self.result_shown.set()

    def _render_result(self, result, prefix: str = "") -> None:
        self.running, self.quick = False, result.quick
        self.last_result = result
        colour = "green" if result.ok else "yellow" if result.status == "compiled" else "red"
        status = Text(prefix, style="dim")
        status.append(result.summary(), style=colour)
        self.query_one("#lab-status", Static).update(status)
        self.shown = list(result.tests)
        first = next((i for i, t in enumerate(self.shown) if t.outcome in ("failed", "error")), 0)
        self._fill_table(select=first)

    def _fill_table(self, select: int | None = None) -> None:
        """The rows, cut to the table's width (the detail pane has every word).
        `select`: the row to show; by default the one selected before."""
        table = self.query_one("#lab-results", DataTable)
        keep = table.cursor_row if select is None else select
        table.clear(columns=True)
        width = max(table.size.width - 2, 40)  # minus the scrollbar
        cap = max(16, width * 2 // 5)
        # While results stream in, names yet to come may be long: keep the room for them.
        name_w = cap if self.running else min(max((len(row_name(t)) for t in self.shown), default=4), cap)
        msg_w = max(width - name_w - 1 - 6 - 8, 10)  # mark, time, and one cell of padding either side of 4 columns
        self._widths = (name_w, msg_w)
        table.add_column("", width=1)
        table.add_column("test", width=name_w)
        table.add_column("time", width=6)
        table.add_column("message", width=msg_w)
        for test in self.shown:
            self._add_row(test)
        row = keep if 0 <= keep < len(self.shown) else 0
        if self.shown:
            table.move_cursor(row=row)
        self._show_detail(row if self.shown else None)

    def _add_row(self, test) -> None:
        table = self.query_one("#lab-results", DataTable)
        if not table.columns:
            self._fill_table()
            return
        name_w, msg_w = self._widths
        # Text, not str: DataTable would read "[fp32-262144]" in a test id as markup and drop it.
        name, message = Text(row_name(test)), Text(test.headline(self.folder))
        name.truncate(name_w, overflow="ellipsis")
        message.truncate(msg_w, overflow="ellipsis")
        table.add_row(Text.from_markup(MARK.get(test.outcome, test.outcome)), name, f"{test.duration:.3f}s", message)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "lab-results":
            self._show_detail(event.cursor_row)

    def _show_detail(self, row: int | None) -> None:
        """The selected test in full, after the run's own notes and figures."""
        result = self.last_result
        text = Text(overflow="fold")
        if result is not None and not self.running:
            for note in result.notes:
                text.append("! " + note + "\n", style="bold yellow" if result.status == "compiled" else "bold red")
            for figures in result.perf:
                text.append("perf: " + "  ".join(f"{k}={v}" for k, v in figures.items() if k != "_test") + "\n")
            if result.perf_goal:
                text.append(result.perf_goal + "\n", style="bold green" if result.perf_met else "bold")
            if text:
                text.append("\n")
        if row is not None and 0 <= row < len(self.shown):
            text.append_text(detail(self.shown[row], self.folder, self.quick))
        elif result is not None and not self.running and result.output.strip():
            text.append("pytest output:\n", style="dim")
            text.append(result.output.rstrip())
        self.query_one("#lab-detail-body", Static).update(text)

    # ------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_run(self) -> None:
        if self.item is not None:
            self.show_running()
            self.run_now_worker = self.run_worker(self._run_now, thread=True, group="lab-run", name=f"run {self.lab_id}")

    def action_hint(self) -> None:
        if self.item is not None and self.hints_shown < len(self.item.hints):
            self.hints_shown += 1
            labrunner.set_hints_shown(self.app.db, self.item.id, self.hints_shown)
        if self.item is not None:
            self._refresh_hints()

    def action_open_twin(self) -> None:
        twin = self._twin()
        if twin is not None:
            self.app.switch_screen(LabScreen(twin.id))

    def action_edit(self) -> None:
        if self.item is None:
            return
        from .editor import open_in_editor

        open_in_editor(self, editable_files(self.item)[0])  # saving re-runs the tests

    def action_diff(self) -> None:
        if self.item is None:
            return
        state = labrunner.lab_state(self.app.db, self.item.id)
        if state.state != "passed":
            self.notify("The solution opens after your first pass.", title="Not yet")
            return
        self.app.push_screen(DiffScreen(f"{self.item.id}: your files → solution/", diff_against_solution(self.item)))

    def action_reset(self) -> None:
        if self.item is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                backup = reset_workspace(self.item)
                self.notify(f"Starter files restored. Your old copy is in {backup}", title="Reset")
                self.action_run()  # show where the fresh starter stands, not the old results

        self.app.push_screen(ConfirmScreen(f"Replace your files in {editable_files(self.item)[0].parent} with the starter? "
                                           "The current copy is kept as a backup."), done)

    def action_next_lab(self) -> None:
        order = all_labs(self.app.catalog)
        ids = [i.id for i in order]
        if not ids:
            return
        index = ids.index(self.lab_id) if self.lab_id in ids else -1
        self.app.switch_screen(LabScreen(ids[(index + 1) % len(ids)]))


class LabListScreen(Screen):
    BINDINGS = [Binding("escape,b", "back", "Back")]
    DEFAULT_CSS = "LabListScreen #labs-table { height: 1fr; } LabListScreen #labs-progress { height: auto; }"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="labs-progress")
        yield DataTable(id="labs-table", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.refresh_rows()
        self.query_one("#labs-table", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def on_resize(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        catalog, db = self.app.catalog, self.app.db
        table = self.query_one("#labs-table", DataTable)
        keep = table.cursor_row  # back from a lab: stay on it
        items = all_labs(catalog)
        # Fixed widths: the title takes what the window leaves (less each column's two cells of
        # padding and the scrollbar) and ends in "…" when cut; the lab screen shows it whole.
        widths = {"state": 13, "id": max([len(i.id) for i in items] or [2]), "track": 7, "day": 3, "min": 3}
        title_width = max(12, self.size.width - sum(widths.values()) - 2 * 6 - 2)
        table.clear(columns=True)
        for name in ("state", "id", "title", "track", "day", "min"):
            table.add_column(name, width=title_width if name == "title" else widths[name], key=name)
        for item in items:
            state = labrunner.lab_state(db, item.id).state
            track = "project" if item.kind == "project" else item.track
            title = Text(item.title, no_wrap=True, overflow="ellipsis")
            title.truncate(title_width, overflow="ellipsis")
            table.add_row(Text.from_markup(STATE_MARK[state]), item.id, title, track, str(item.day),
                          str(item.minutes), key=item.id)
        table.move_cursor(row=keep)
        self.query_one("#labs-progress", Static).update(progress_line(db, catalog))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self._open(event.row_key.value)

    def _open(self, lab_id: str) -> None:
        opener = getattr(self.app, "open_item", None)
        if opener is not None:
            opener("lab", lab_id)
        else:
            self.app.push_screen(LabScreen(lab_id))

    def action_back(self) -> None:
        self.app.pop_screen()
