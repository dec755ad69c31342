"""Lesson and day-page reader: Markdown with a table of contents, links
handled by vlearn (not by Textual's file-opening viewer), scroll kept."""
from __future__ import annotations

import webbrowser
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Header, Markdown, OptionList, Static
from textual.widgets.markdown import MarkdownTableOfContents
from textual.widgets.option_list import Option

from ..core import plan, weekly
from ..core.content.curriculum import extract_links
from ..core.links import resolve_link
from ..core.store import progress
from ..core.text import lesson_title
from ..widgets.footer import KeyFooter

FIRST_PAINT_LINES = 40


def split_for_first_paint(body: str) -> tuple[str, str]:
    """Split Markdown before the first heading after FIRST_PAINT_LINES lines
    (never inside a code fence); ("body", "") when there is no such heading."""
    lines = body.splitlines(keepends=True)
    in_code = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code and number >= FIRST_PAINT_LINES and line.startswith("#"):
            return "".join(lines[:number]), "".join(lines[number:])
    return body, ""


class LinkPicker(ModalScreen[str | None]):
    """Every link on the page, to follow from the keyboard."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, links: list[tuple[str, str]]) -> None:
        super().__init__()
        self.links = links

    def compose(self) -> ComposeResult:
        options = OptionList(*[Option(Text(f"{text or target}  →  {target}"), id=str(i))
                               for i, (text, target) in enumerate(self.links)], id="link-list")
        options.border_title = "Follow a link (enter), esc closes"
        yield options

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.links[int(event.option.id)][1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


SOURCE_SCHEME = "source:"  # links to vLLM code; only generated here, never written in content


class DocumentScreen(Screen):
    """A Markdown document from the content tree: one scroll for the whole page.

    Nothing on the page takes focus (the contents pane does when clicked or
    tabbed to), so the scroll keys below mean the page wherever they are pressed;
    ↑/↓ move in the contents while it has focus."""

    AUTO_FOCUS = ""
    # The contents' tree fills the pane: its own width is 'auto', which nothing
    # recomputes when the tree fills in after the lesson is parsed.
    DEFAULT_CSS = "DocumentScreen #toc > Tree { width: 1fr; }"
    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("f", "links", "Follow a link"),
        Binding("c", "toggle_toc", "Contents"),
        Binding("j", "scroll(1)", "Down a line", show=False, priority=True),
        Binding("k", "scroll(-1)", "Up a line", show=False, priority=True),
        Binding("down", "scroll(1)", show=False),
        Binding("up", "scroll(-1)", show=False),
        Binding("space,pagedown", "page(1)", "Page down", show=False, priority=True),
        Binding("pageup", "page(-1)", "Page up", show=False, priority=True),
        Binding("g,home", "top", "Top", show=False, priority=True),
        Binding("G,end", "bottom", "Bottom", show=False, priority=True),
    ]

    title_text = ""
    body = ""
    base: Path | None = None
    scroll_key = ""  # settings key holding the remembered scroll offset
    rest = ""  # the part of the document appended after the first paint

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.title_text, id="doc-title", markup=False)
        # A long lesson becomes hundreds of widgets (~1 s here): show the first
        # screenfuls at once and append the rest right after the first paint.
        first, self.rest = split_for_first_paint(self.body)
        markdown = Markdown(first, open_links=False, id="doc")
        with Horizontal(id="doc-area"):
            yield MarkdownTableOfContents(markdown, id="toc")
            with VerticalScroll(id="doc-scroll", can_focus=False):
                yield markdown
        yield KeyFooter()

    def on_mount(self) -> None:
        self.call_after_refresh(self._load_rest)

    async def _load_rest(self) -> None:
        if self.rest:
            await self.query_one("#doc", Markdown).append(self.rest)
        scroller = self.query_one("#doc-scroll", VerticalScroll)
        offset = progress.get_setting(self.app.db, self.scroll_key) if self.scroll_key else None
        if offset:
            self.call_after_refresh(scroller.scroll_to, y=float(offset), animate=False)
        self.watch(scroller, "scroll_y", self._check_end, init=False)
        self.call_after_refresh(self._check_end)  # a page that fits the window is read by being shown

    def _check_end(self, _y: float | None = None) -> None:
        scroller = self.query_one("#doc-scroll", VerticalScroll)
        if scroller.max_scroll_y == 0 and self.rest:
            return  # a long page whose appended part is not laid out yet
        if scroller.virtual_size.height and scroller.scroll_y >= scroller.max_scroll_y:
            self.reached_end()

    def reached_end(self) -> None:
        """The whole page has been on screen; lessons record it."""

    def on_markdown_table_of_contents_updated(self, message: Markdown.TableOfContentsUpdated) -> None:
        self.query_one(MarkdownTableOfContents).table_of_contents = message.table_of_contents
        message.stop()

    def on_markdown_table_of_contents_selected(self, message: Markdown.TableOfContentsSelected) -> None:
        block = self.query_one(f"#{message.block_id}")
        self.query_one("#doc-scroll", VerticalScroll).scroll_to_widget(block, top=True)
        message.stop()

    def on_markdown_link_clicked(self, message: Markdown.LinkClicked) -> None:
        message.stop()
        self.follow(message.href)

    def follow(self, href: str) -> None:
        if href.startswith(SOURCE_SCHEME):  # a vllm_refs entry: the code, at the symbol
            self.app.open_item("code", href[len(SOURCE_SCHEME):])
            return
        target = resolve_link(self.app.catalog, href, self.base)
        if target.kind == "anchor":
            self.query_one("#doc", Markdown).goto_anchor(target.anchor)
        elif target.kind == "external":
            # Never treat a web link as a file; hand it to the browser if there is one.
            opened = False
            try:
                opened = webbrowser.open(target.url)
            except Exception:
                opened = False
            self.notify(target.url, title="Opened in browser" if opened else "Web link (no browser here)")
        elif target.kind == "item":
            if target.scheme == "day":
                self.app.open_day(int(target.ident))
            elif target.scheme in ("deck", "card"):
                self.app.open_item("cards", [target.ident])
            elif target.scheme == "question":
                self.app.open_item("drill", target.ident)
            elif target.scheme in ("lab", "project"):
                self.app.open_item("lab", target.ident)
            elif target.scheme == "lesson":
                self.app.open_item("lesson", target.ident)
            else:
                self.notify(f"{target.scheme} '{target.ident}' has no screen yet", severity="warning")
        else:
            self.notify(target.reason, severity="warning")

    def action_links(self) -> None:
        links = [(link.text, link.target) for link in extract_links(self.body, 1)]
        if not links:
            self.notify("No links on this page.")
            return
        self.app.push_screen(LinkPicker(links), lambda href: href and self.follow(href))

    def _remember_scroll(self) -> None:
        if self.scroll_key:
            offset = self.query_one("#doc-scroll", VerticalScroll).scroll_y
            progress.set_setting(self.app.db, self.scroll_key, f"{offset:.0f}")

    def on_screen_suspend(self) -> None:
        self._remember_scroll()

    def action_back(self) -> None:
        self._remember_scroll()
        self.app.pop_screen()

    def action_toggle_toc(self) -> None:
        toc = self.query_one("#toc")
        toc.display = not toc.display

    def _scroll_by(self, lines: float) -> None:
        # At once, not after the next repaint: held-down keys arrive faster than
        # frames, and a deferred scroll from the old position would drop most of them.
        scroller = self.query_one("#doc-scroll", VerticalScroll)
        scroller.scroll_to(y=scroller.scroll_y + lines, animate=False, immediate=True)

    def action_scroll(self, lines: int) -> None:
        self._scroll_by(lines)

    def action_page(self, pages: int) -> None:
        self._scroll_by(pages * self.query_one("#doc-scroll", VerticalScroll).scrollable_content_region.height)

    def action_top(self) -> None:
        self.query_one("#doc-scroll", VerticalScroll).scroll_to(y=0, animate=False, immediate=True)

    def action_bottom(self) -> None:
        scroller = self.query_one("#doc-scroll", VerticalScroll)
        scroller.scroll_to(y=scroller.max_scroll_y, animate=False, immediate=True)


class LessonScreen(DocumentScreen):
    """A lesson. Its vLLM references are links into the code; a walkthrough can
    show that code beside the prose (x) and step through its references in order ([ and ])."""

    BINDINGS = [
        Binding("x", "toggle_code", "Code beside"),  # s is card stats everywhere
        Binding("n", "note", "Note"),
        Binding("right_square_bracket", "step_code(1)", "Next reference", show=False),
        Binding("left_square_bracket", "step_code(-1)", "Previous reference", show=False),
    ]
    DEFAULT_CSS = """
    LessonScreen #lesson-code { width: 1fr; display: none; border-left: solid $panel-lighten-2; }
    LessonScreen.split #lesson-code { display: block; }
    LessonScreen.split #toc { display: none; }
    """

    def __init__(self, lesson_id: str) -> None:
        super().__init__()
        self.lesson = self.app.catalog.lessons[lesson_id]
        self.code_at = 0  # which of vllm_refs the split view shows

    def compose(self) -> ComposeResult:
        lesson = self.lesson
        self.title_text = f"{lesson_title(lesson, 'Lesson')}  ·  {lesson.minutes} min  ·  {lesson.id}"
        refs = "".join(f"- [`{ref}`]({SOURCE_SCHEME}{ref})\n" for ref in lesson.vllm_refs)
        objectives = "".join(f"- {o}\n" for o in lesson.objectives)
        header = f"**Objectives**\n\n{objectives}\n"
        if refs:
            header += f"**vLLM 0.33.0 code** (follow one to read it at the symbol; `x` shows it beside the text)\n\n{refs}\n"
        self.body = header + "---\n\n" + lesson.body
        self.base = lesson.path.parent
        self.scroll_key = f"scroll:lesson:{lesson.id}"
        yield from super().compose()

    def action_note(self) -> None:
        from .notes import open_note

        open_note(self, "lesson", self.lesson.id)

    def action_toggle_code(self) -> None:
        if not self.lesson.vllm_refs:
            self.notify("This lesson names no vLLM code.")
            return
        self.toggle_class("split")
        if self.has_class("split"):
            self._show_code()

    def action_step_code(self, step: int) -> None:
        refs = self.lesson.vllm_refs
        if not refs:
            return
        if not self.has_class("split"):
            self.add_class("split")
        self.code_at = (self.code_at + step) % len(refs)
        self._show_code()

    def _show_code(self) -> None:
        from .code import CodeView

        refs = self.lesson.vllm_refs
        self.query_one("#lesson-code", CodeView).show(refs[self.code_at])
        self.sub_title = f"reference {self.code_at + 1} of {len(refs)}: ] next, [ previous"

    def on_mount(self) -> None:
        # Textual also runs DocumentScreen.on_mount (handlers run for every class
        # in the MRO), so calling super() here would load the document twice.
        progress.mark_lesson_read(self.app.db, self.lesson.id)
        if self.lesson.vllm_refs:
            from .code import CodeView

            self.query_one("#doc-area").mount(CodeView(id="lesson-code"))

    def reached_end(self) -> None:
        if progress.mark_lesson_finished(self.app.db, self.lesson.id) and plan.settle(self.app.catalog, self.app.db):
            self.notify("Read to the end: ticked on the plan.")


class DayPageScreen(DocumentScreen):
    BINDINGS = [Binding("n", "note", "Note")]

    def __init__(self, day: int) -> None:
        super().__init__()
        self.day = day

    def compose(self) -> ComposeResult:
        page = self.app.catalog.day_pages[self.day]
        self.title_text = f"Day {self.day}: the plan for the day"
        self.body = page.body
        week = weekly.last_day_of_week(self.app.catalog, self.day)
        if week is not None:  # the week's last day: its review, from the learner's own records
            self.body += "\n\n---\n\n" + weekly.review_markdown(self.app.catalog, self.app.db, week)
        self.base = page.path.parent
        self.scroll_key = f"scroll:day:{self.day}"
        yield from super().compose()

    def action_note(self) -> None:
        from .notes import open_note

        open_note(self, "day", self.day)
