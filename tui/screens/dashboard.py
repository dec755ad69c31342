"""Progress dashboard: plan, lessons, labs, cards, drills, streak, study time,
reviews per day and rubric averages over time (tui.core.progress_export),
with the ranked gaps (tui.core.gaps) underneath."""
from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Sparkline, Static

from ..core import gaps, progress_export
from ..widgets.footer import KeyFooter


class DashboardScreen(Screen):
    DEFAULT_CSS = """
    DashboardScreen #dash-scroll { padding: 0 2; }
    DashboardScreen .dash-title { margin-top: 1; text-style: bold; color: $accent; }
    DashboardScreen Sparkline { height: 3; max-width: 90; }
    """
    BINDINGS: ClassVar[list] = [
        Binding("escape,b", "back", "Back"),
        Binding("f5,ctrl+r", "refresh_dashboard", "Refresh"),
        Binding("R", "rubric", "Rate yourself"),
        Binding("o", "portfolio", "Portfolio"),
    ]

    SECTIONS = 5  # progress, gaps, reviews chart, rubric chart, study-time method
    SPARKS = {2: "dash-reviews-spark", 3: "dash-rubric-spark"}  # a picture above those sections' figures

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="dash-scroll"):
            for i in range(self.SECTIONS):
                yield Static(id=f"dash-title-{i}", classes="dash-title", markup=False)
                if i in self.SPARKS:
                    yield Sparkline([], id=self.SPARKS[i])
                yield Static(id=f"dash-section-{i}", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Progress"
        self.action_refresh_dashboard()
        self.query_one("#dash-scroll").focus()

    def on_screen_resume(self) -> None:
        self.action_refresh_dashboard()  # back from the rubric: show the new assessment

    def sections(self) -> list[tuple[str, str]]:
        catalog, db = self.app.catalog, self.app.db
        data = progress_export.summary(db, catalog)
        self.query_one("#dash-reviews-spark", Sparkline).data = list(data["reviews_per_day"].values())
        averages = [a["average"] for a in data["rubric"]["assessments"] if a["average"] is not None]
        spark = self.query_one("#dash-rubric-spark", Sparkline)
        spark.data, spark.display = averages, len(averages) > 1  # one point is not a trend
        sections = progress_export.dashboard_sections(data)
        sections.insert(1, ("Gaps, weakest first (vlearn gaps: evidence and next steps)",
                            gaps.compact_text(gaps.analyse(catalog, db))))
        return sections

    def action_refresh_dashboard(self) -> None:
        for i, (title, body) in enumerate(self.sections()[: self.SECTIONS]):
            self.query_one(f"#dash-title-{i}", Static).update(title)
            self.query_one(f"#dash-section-{i}", Static).update(body)

    def action_rubric(self) -> None:
        self.app.open_item("rubric")

    def action_portfolio(self) -> None:
        self.app.open_item("portfolio")

    def action_back(self) -> None:
        self.app.pop_screen()
