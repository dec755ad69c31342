"""The portfolio (tui.core.portfolio) as a page: the same Markdown `vlearn portfolio` writes.
`w` writes portfolio.md and portfolio.html to VLEARN_HOME/portfolio."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from ..core import portfolio
from .lesson import DocumentScreen


class PortfolioScreen(DocumentScreen):
    BINDINGS = [Binding("w", "write", "Write .md and .html")]

    def __init__(self, now=None) -> None:
        super().__init__()
        self.now = now  # tests pin the date in the header

    def compose(self) -> ComposeResult:
        self.data = portfolio.build(self.app.catalog, self.app.db, now=self.now)
        self.title_text = "Portfolio: what you built and measured, from your own records (w writes it out)"
        self.body = portfolio.to_markdown(self.data)
        yield from super().compose()

    def action_write(self) -> None:
        from ..core.fsutil import atomic_path
        from ..core.paths import vlearn_home
        from ..core.store import os_error_line

        out = vlearn_home() / "portfolio"
        try:
            out.mkdir(parents=True, exist_ok=True)
            for name, text in (("portfolio.md", self.body), ("portfolio.html", portfolio.to_html(self.data, self.body))):
                with atomic_path(out / name) as tmp:
                    tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.notify(os_error_line(out, exc), title="not written", severity="error")
            return
        self.notify(f"{out}/portfolio.md and portfolio.html", title="Portfolio written")
