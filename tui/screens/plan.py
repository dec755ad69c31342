"""Plan: every day (0 to 28) by week, with completion."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from ..core import plan
from ..widgets.footer import KeyFooter


def bar(done: int, total: int, width: int = 10) -> str:
    if total == 0:
        return " " * width
    filled = round(width * done / total)
    return "█" * filled + "░" * (width - filled)


class PlanScreen(Screen):
    BINDINGS = [Binding("escape,b", "app.pop_screen", "Back"), Binding("enter", "open_day", "Open day")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="plan-summary")
        yield DataTable(id="plan-table", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Day", "Week", "Title", "Module", "Done", "", "Hours")
        self.refresh_plan()

    def on_screen_resume(self) -> None:
        self.refresh_plan()

    def refresh_plan(self) -> None:
        catalog, db = self.app.catalog, self.app.db
        plan.settle(catalog, db)
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        days = plan.day_progress(catalog, db)
        standing = plan.standing(catalog, db)
        complete, total = plan.days_complete(catalog, db)
        self.query_one("#plan-summary", Static).update(
            f"{complete} of {total} days complete (day 0 included) · you are on day {standing.current_day}"
            f" · {standing.pace_text()}"
        )
        for number, day in catalog.days.items():
            p = days[number]
            here = "▶ " if number == standing.current_day else ""
            table.add_row(
                f"{here}{number}", str(day.week), Text(day.title), day.module,
                f"{p.done}/{p.total}", bar(p.done, p.total), f"{day.hours:g}", key=str(number),
            )
        if catalog.days:
            table.move_cursor(row=row if row else list(catalog.days).index(standing.current_day) if standing.current_day in catalog.days else 0)
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self._open(int(event.row_key.value))

    def action_open_day(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key
            self._open(int(key.value))

    def _open(self, number: int) -> None:
        self.app.open_day(number)
