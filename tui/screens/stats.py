"""Card statistics: due forecast, reviews per day, retention by component,
new/learning/young/mature counts: sparklines of the two series on top, the
exact figures as plain-text bars below (tui.core.srs)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Sparkline, Static

from ..core import srs
from ..widgets.footer import KeyFooter


class StatsScreen(Screen):
    DEFAULT_CSS = """
    StatsScreen #stats-scroll { padding: 1 2; }
    StatsScreen .spark-label { color: $text-muted; }
    StatsScreen Sparkline { height: 3; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape,b", "back", "Back"),
        Binding("f5,ctrl+r", "refresh_stats", "Refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats-scroll"):
            yield Static("Due, next 30 days", classes="spark-label")
            yield Sparkline([], id="stats-due-spark")
            yield Static("Reviews per day, last 90 days", classes="spark-label")
            yield Sparkline([], id="stats-reviews-spark")
            yield Static(id="stats-body", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Card statistics"
        self.action_refresh_stats()
        self.query_one("#stats-scroll").focus()

    def action_refresh_stats(self) -> None:
        db, catalog = self.app.db, self.app.catalog
        self.query_one("#stats-due-spark", Sparkline).data = [n for _, n in srs.forecast(db, catalog, 30)]
        self.query_one("#stats-reviews-spark", Sparkline).data = [n for _, n in srs.reviews_per_day(db, 90)]
        self.query_one("#stats-body", Static).update(srs.stats_text(db, catalog))

    def action_back(self) -> None:
        self.app.pop_screen()
