"""vLLM 0.33.0 source beside the lessons: a read-only view of a `path::Symbol`
reference with the symbol's lines selected (tui.core.source resolves them).

`CodeView` is the pane (also the right half of a walkthrough's split view);
`CodeScreen` is the full-screen view a lesson's reference opens. Before the
source is fetched the pane says how, and F fetches it from here."""
from __future__ import annotations

import subprocess
import sys

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static, TextArea
from textual.widgets.text_area import Selection

from ..core import source
from ..widgets.footer import KeyFooter
from .editor import open_in_editor


class CodeView(Vertical):
    """One reference's code: a title line, then the file with the symbol's lines selected."""

    DEFAULT_CSS = """
    CodeView { height: 1fr; }
    CodeView #code-where { height: auto; color: $text-muted; }
    CodeView #code-text { height: 1fr; }
    """
    ref: str | None = None
    range: source.Range | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="code-where", markup=False)
        yield TextArea("", read_only=True, show_line_numbers=True, soft_wrap=False, id="code-text")

    def show(self, ref: str) -> bool:
        """Show `ref`; False (with the reason shown in the pane) when it cannot be resolved."""
        self.ref, self.range = ref, None
        where, text = self.query_one("#code-where", Static), self.query_one("#code-text", TextArea)
        try:
            found = source.resolve(ref)
            content = found.file.read_text(encoding="utf-8", errors="replace")
        except source.SourceMissing as exc:
            where.update(f"{ref}\n\n{exc}.\nPress F to fetch it now (about 47 MB, once).")
            text.display = False
            return False
        except (source.SourceError, OSError) as exc:
            where.update(f"{ref}: {exc}")
            text.display = False
            return False
        self.range = found
        where.update(f"{found.path}:{found.first}-{found.last}  ·  {found.symbol or found.path}  ·  "
                     f"{found.lines} lines (selected)")
        text.display = True
        text.load_text(content)
        text.language = _language(found.path, text)
        text.selection = Selection((found.first - 1, 0), (found.last, 0))
        # The symbol's first line at the top of the pane, not wherever the cursor lands.
        self.call_after_refresh(text.scroll_to, y=max(found.first - 2, 0), animate=False)
        return True

    def find(self, needle: str) -> bool:
        """Select the next occurrence of `needle` after the cursor, wrapping once."""
        text = self.query_one("#code-text", TextArea)
        if not needle or not text.display:
            return False
        lines = text.text.split("\n")
        row, col = text.selection.end
        order = list(range(row, len(lines))) + list(range(0, row + 1))
        for i, n in enumerate(order):
            start = col if i == 0 else 0
            at = lines[n].find(needle, start)
            if at >= 0:
                text.selection = Selection((n, at), (n, at + len(needle)))
                text.scroll_cursor_visible(center=True, animate=False)
                return True
        return False


def _language(path: str, text: TextArea) -> str | None:
    """Syntax highlighting where Textual has the tree-sitter grammar; plain text otherwise."""
    wanted = "python" if path.endswith(".py") else None
    return wanted if wanted in text.available_languages else None


class CodeScreen(Screen):
    """A reference opened from a lesson: read, search, or open it in $EDITOR."""

    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("e", "edit", "Open in editor"),
        Binding("slash", "search", "Search"),
        Binding("n", "search_next", "Next match"),
        Binding("F", "fetch", "Fetch the source"),
    ]
    DEFAULT_CSS = "CodeScreen #code-search { dock: bottom; display: none; }"

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref, self.needle = ref, ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield CodeView(id="code-view")
        yield Input(placeholder="search (Enter: next match, Escape: close)", id="code-search")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = f"vLLM {source.VERSION}: {self.ref}"
        if self.query_one(CodeView).show(self.ref):
            self.query_one("#code-text").focus()

    def action_back(self) -> None:
        search = self.query_one("#code-search", Input)
        if search.display:
            search.display = False
            self.query_one("#code-text").focus()
            return
        self.app.pop_screen()

    def action_search(self) -> None:
        search = self.query_one("#code-search", Input)
        search.display = True
        search.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.needle = event.value
        self.action_search_next()

    def action_search_next(self) -> None:
        if self.needle and not self.query_one(CodeView).find(self.needle):
            self.notify(f"'{self.needle}' is not in this file", severity="warning")

    def action_edit(self) -> None:
        found = self.query_one(CodeView).range
        if found is None:
            self.notify("Nothing to open yet", severity="warning")
            return
        open_in_editor(self, found.file, self.query_one("#code-text", TextArea).selection.end[0] + 1)

    def action_fetch(self) -> None:
        if source.source_root() is not None:
            self.notify("The source is already here.")
            return
        self.notify("Fetching the vLLM source (about 47 MB)...")
        self.fetch()

    @work(thread=True, exclusive=True)
    def fetch(self) -> None:
        done = subprocess.run([sys.executable, "-m", "tui.cli", "source", "fetch"], capture_output=True, text=True)
        said = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1:] or ["(no output)"]
        self.app.call_from_thread(self._fetched, done.returncode == 0, said[0])

    def _fetched(self, ok: bool, said: str) -> None:
        self.notify(said, severity="information" if ok else "error", timeout=10)
        if ok and self.query_one(CodeView).show(self.ref):
            self.query_one("#code-text").focus()
