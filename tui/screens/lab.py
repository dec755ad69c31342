"""The lab screen (instructions, files, live results, hints) and the lab list.

Thin: the workspace, runner and watcher live in tui.core.labs. The watcher
runs in a thread worker and hands results back with call_from_thread; runs
are recorded here, on the UI thread, so SQLite is only written from one thread.
"""
from __future__ import annotations

import asyncio
import subprocess
import threading

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Header, Label, Markdown, RichLog, Static

from ..core import paths
from ..core.content.labs import all_labs, find
from ..core.labs import runner as labrunner
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


class LabScreen(Screen):
    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("e", "edit", "Edit"),
        Binding("r", "run", "Run now"),
        Binding("h", "hint", "Hint"),
        Binding("d", "diff", "Diff vs solution"),
        Binding("n", "next_lab", "Next lab"),
        Binding("x", "reset", "Reset"),
    ]
    DEFAULT_CSS = """
    LabScreen #lab-main { height: 1fr; }
    LabScreen #lab-readme { width: 1fr; }
    LabScreen #lab-right { width: 1fr; }
    LabScreen #lab-results { height: 1fr; min-height: 6; }
    LabScreen #lab-log { height: 1fr; min-height: 6; border-top: solid $primary; }
    LabScreen #lab-hints { height: auto; max-height: 10; }
    LabScreen #lab-head, LabScreen #lab-files, LabScreen #lab-status, LabScreen #lab-progress { height: auto; }
    ConfirmScreen, DiffScreen { align: center middle; }
    #confirm { width: 60; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    #diff { width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, lab_id: str) -> None:
        super().__init__()
        self.lab_id = lab_id
        self.item = None
        self.hints_shown = 0
        self.last_result = None
        self.running = False
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
        with Horizontal(id="lab-main"):
            with VerticalScroll(id="lab-readme"):
                text = self.item.readme.read_text(encoding="utf-8") if self.item.readme.is_file() else "(no README)"
                yield Markdown(text, open_links=False)
            with Vertical(id="lab-right"):
                yield Static("Save a file (or press r) to run the tests.", id="lab-status")
                yield DataTable(id="lab-results", cursor_type="row", zebra_stripes=True)
                yield Static(id="lab-hints")
                yield RichLog(id="lab-log", wrap=True, markup=False, highlight=False)
        yield Static(id="lab-progress")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.item is None:
            return
        ensure_workspace(self.item)
        table = self.query_one("#lab-results", DataTable)
        table.add_columns("", "test", "time", "message")
        self._refresh_head()
        self._refresh_hints()
        _runner(self.app).warm_up()
        self.run_worker(self._watch, thread=True, exclusive=True, group="lab-watch", name=f"watch {self.lab_id}")

    def on_unmount(self) -> None:
        self._stop.set()

    def _refresh_head(self) -> None:
        item = self.item
        state = labrunner.lab_state(self.app.db, item.id)
        kind = "project" if item.kind == "project" else f"{item.track} lab"
        when = f" (first pass {state.first_pass_at})" if state.first_pass_at else ""
        head = (f"[b]{item.title}[/b]  [dim]{item.id} · {kind} · day {item.day} · ~{item.minutes} min · "
                f"GPU {item.gpu}[/]   {STATE_MARK[state.state]}{when}")
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

    # ------------------------------------------------------------ background work

    def _watch(self) -> None:
        """Thread worker: re-run this lab on every save until the screen goes."""
        watch_labs(
            self.app.catalog,
            on_result=lambda result: self.app.call_from_thread(self.show_result, result),
            stop=self._stop,
            only={self.lab_id},
            runner=_runner(self.app),
            on_start=lambda _lab: self.app.call_from_thread(self.show_running),
            on_ready=self.watch_ready.set,
        )

    def _run_now(self) -> None:
        result = _runner(self.app).run(self.item, "workspace", record=False)
        self.app.call_from_thread(self.show_result, result)

    def show_running(self) -> None:
        self.running = True
        self.query_one("#lab-status", Static).update("[yellow]running the tests…[/]")

    def show_result(self, result) -> None:
        """On the UI thread: record the run, then render it."""
        self.running = False
        before = labrunner.lab_state(self.app.db, self.item.id).state
        labrunner.record_run(self.app.db, result)
        self.last_result = result
        colour = "green" if result.ok else "yellow" if result.status == "compiled" else "red"
        self.query_one("#lab-status", Static).update(f"[{colour}]{result.summary()}[/]")
        table = self.query_one("#lab-results", DataTable)
        table.clear()
        for t in result.tests:
            # The header shows the folder; in the table, paths under it are just file names.
            first = (t.message.splitlines() or [""])[0].replace(f"{result.target}/", "")
            name = f"[{t.stage}] {t.name}" if t.stage else t.name
            # Text, not str: DataTable would read "[fp32-262144]" in a test id as markup and drop it.
            table.add_row(Text.from_markup(MARK.get(t.outcome, t.outcome)), Text(name), f"{t.duration:.3f}s", Text(first[:120]))
        log = self.query_one("#lab-log", RichLog)
        log.clear()
        for note in result.notes:
            log.write(Text("! " + note, style="bold yellow" if result.status == "compiled" else "bold red"))
        for figures in result.perf:
            log.write("perf: " + "  ".join(f"{k}={v}" for k, v in figures.items() if k != "_test"))
        for t in result.tests:
            if t.outcome in ("failed", "error") and t.longrepr:
                log.write(Text(f"--- {t.name}", style="bold"))
                log.write(t.longrepr)
                if t.stdout.strip():
                    log.write("stdout:\n" + t.stdout.rstrip())
        if result.output.strip():
            log.write(Text("--- pytest output", style="dim"))
            log.write(result.output.rstrip())
        self._refresh_head()
        if result.ok and before != "passed":
            self.notify(f"{self.item.title}: passed. Press d to compare with the solution.", title="Lab passed")
        self.result_shown.set()

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
        if self.item is not None:
            self._refresh_hints()

    def action_edit(self) -> None:
        if self.item is None:
            return
        path = editable_files(self.item)[0]
        chosen = paths.editor()  # the one `vlearn doctor` names: $VISUAL, $EDITOR, else vim, nano or vi
        if chosen is None:
            self.notify(f"Set $EDITOR, or open {path} in your editor: saving re-runs the tests.", title="No editor")
            return
        try:
            with self.app.suspend():
                subprocess.call([*chosen[0], str(path)])
        except Exception as exc:  # no terminal to hand over (e.g. a web or test driver)
            self.notify(f"Cannot open the editor here ({exc}); the file is {path}", severity="warning")
        self.app.refresh()

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
        table = self.query_one("#labs-table", DataTable)
        table.add_columns("state", "id", "title", "track", "day", "min")
        self.refresh_rows()
        table.focus()

    def on_screen_resume(self) -> None:
        self.refresh_rows()

    def refresh_rows(self) -> None:
        catalog, db = self.app.catalog, self.app.db
        table = self.query_one("#labs-table", DataTable)
        table.clear()
        for item in all_labs(catalog):
            state = labrunner.lab_state(db, item.id).state
            track = "project" if item.kind == "project" else item.track
            table.add_row(Text.from_markup(STATE_MARK[state]), item.id, Text(item.title), track, str(item.day),
                          str(item.minutes), key=item.id)
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
