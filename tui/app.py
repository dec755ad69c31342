"""vlearn-tui: the Textual app. Screens are thin; everything real is in tui.core."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from .commands import ContentCommands
from .core.content import Catalog, load_catalog_cached
from .core.store import TUI_BUSY_S, StoreError, busy_seconds, open_store
from .core.text import plural

# kind -> (module, class) of the screen that opens it; see docs/contracts.md.
SCREENS = {
    "lesson": ("tui.screens.lesson", "LessonScreen"),
    "daypage": ("tui.screens.lesson", "DayPageScreen"),
    "lab": ("tui.screens.lab", "LabScreen"),
    "labs": ("tui.screens.lab", "LabListScreen"),
    "cards": ("tui.screens.review", "ReviewScreen"),
    "stats": ("tui.screens.stats", "StatsScreen"),
    "drill": ("tui.screens.drill", "DrillScreen"),
    "interview": ("tui.screens.interview", "InterviewScreen"),
    "rubric": ("tui.screens.rubric", "RubricScreen"),
    "dashboard": ("tui.screens.dashboard", "DashboardScreen"),
    "plan": ("tui.screens.plan", "PlanScreen"),
    "help": ("tui.screens.help", "HelpScreen"),
    "problems": ("tui.screens.problems", "ProblemsScreen"),
    "code": ("tui.screens.code", "CodeScreen"),
    "portfolio": ("tui.screens.portfolio", "PortfolioScreen"),
}


class VlearnApp(App):
    TITLE = "vlearn"
    SUB_TITLE = "vLLM 0.33.0 from the inside, in 28 days"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {ContentCommands}
    BINDINGS = [
        Binding("t", "go('today')", "Today"),
        Binding("p", "go('plan')", "Plan"),
        Binding("l", "go('labs')", "Labs"),
        Binding("r", "go('cards')", "Review"),
        Binding("i", "go('interview')", "Interview", show=False),
        Binding("P", "go('dashboard')", "Progress", show=False),  # not g: g and G are top and bottom in a lesson
        Binding("R", "go('rubric')", "Rubric", show=False),
        Binding("s", "go('stats')", "Card stats", show=False),
        Binding("exclamation_mark", "go('problems')", "Content problems", show=False),
        Binding("question_mark", "go('help')", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, catalog: Catalog | None = None, db=None) -> None:
        super().__init__()
        self.catalog = catalog if catalog is not None else load_catalog_cached()
        self.db = db
        self.store_error: str | None = None
        if self.db is None:
            try:
                self.db = open_store(busy_s=busy_seconds(TUI_BUSY_S), check="background")
            except StoreError as exc:
                self.store_error = str(exc)

    def on_mount(self) -> None:
        self._restore_theme()
        if self.store_error:
            from .screens.problems import FatalScreen

            self.push_screen(FatalScreen(self.store_error))
            return
        from .core.store import progress
        from .screens.today import TodayScreen

        progress.start_date(self.db)  # the first launch is the learner's day 1
        self.push_screen(TodayScreen())
        errors = self.catalog.errors
        if errors:
            listing = "\n".join(str(p) for p in errors[:6])
            more = f"\n… and {len(errors) - 6} more" if len(errors) > 6 else ""
            self.notify(
                f"{listing}{more}\nPress ! for the full list.",
                title=plural(len(errors), "content problem"),
                severity="error",
                timeout=20,
            )

    def store_problem(self, error: StoreError) -> None:
        """A write that could not be made (another process held progress.db past
        the wait, a read-only or full disk, a damaged file): say so in one line and
        keep going; repeating the action retries it."""
        self.notify(str(error), title="not saved", severity="error", timeout=15)

    async def _dispatch_action(self, namespace, action_name, params) -> bool:
        try:
            return await super()._dispatch_action(namespace, action_name, params)
        except StoreError as error:
            self.store_problem(error)
            return True

    def _handle_exception(self, error: Exception) -> None:
        # A store failure outside an action (a handler, a worker's callback):
        # a notice, not a dead app. Anything else is a bug and ends the app as usual.
        if isinstance(error, StoreError) or isinstance(getattr(error, "error", None), StoreError):
            self.store_problem(getattr(error, "error", None) or error)
            return
        super()._handle_exception(error)

    def _restore_theme(self) -> None:
        """The theme last chosen (command palette: Change theme) comes back at start,
        and a new choice is written to the settings file."""
        from .core import config

        try:
            saved = config.get("ui.theme")
        except config.ConfigError as exc:
            saved = None
            self.notify(str(exc), title="settings file", severity="warning", timeout=15)
        if saved and saved in self.available_themes:
            self.theme = saved
        self.theme_changed_signal.subscribe(self, self._save_theme)

    def _save_theme(self, theme) -> None:
        from .core import config

        try:
            if config.get("ui.theme") != theme.name:
                config.set_value("ui.theme", theme.name)
        except (config.ConfigError, OSError) as exc:
            self.notify(f"theme not saved: {exc}", severity="warning")

    def screen_for(self, kind: str, *args):
        module_name, class_name = SCREENS[kind]
        try:
            module = importlib.import_module(module_name)
            return getattr(module, class_name)(*args)
        except (ImportError, AttributeError, KeyError):
            return None

    def open_item(self, kind: str, *args) -> bool:
        """Open the screen for an item; a notice (not a crash) when it cannot."""
        if self.store_error:
            return False
        screen = self.screen_for(kind, *args)
        if screen is None:
            self.notify(f"{kind} is not available in this version yet", severity="warning")
            return False
        self.push_screen(screen)
        return True

    def open_day(self, number: int) -> None:
        """Today, showing day `number`, from whichever screen asks."""
        from .screens.today import TodayScreen

        self.action_go("today")
        if isinstance(self.screen, TodayScreen):
            self.screen.show_day(number)

    def action_go(self, kind: str) -> None:
        if kind == "today":
            from .screens.today import TodayScreen

            while len(self.screen_stack) > 2 and not isinstance(self.screen, TodayScreen):
                self.pop_screen()
            if isinstance(self.screen, TodayScreen):
                self.screen.show_day(None)
            return
        if kind == "cards":
            self.open_item("cards", [])
            return
        if kind == "interview":
            self.open_item("interview", None)
            return
        if type(self.screen).__name__ == SCREENS[kind][1]:
            return  # already there
        self.open_item(kind)


def main() -> int:
    # Arguments are looked at before anything starts the app: `--version` or a
    # typo with no terminal attached must print and exit, not spin up Textual.
    from .cli.conventions import ENVIRONMENT, version_line
    from .core.paths import content_problem

    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        print("usage: vlearn-tui [--version]   (the app; `vlearn --help` lists the headless commands)\n")
        print(ENVIRONMENT, end="")
        return 0
    if args and args[0] in ("-V", "--version"):
        print(version_line("vlearn-tui"))
        return 0
    if args:
        print(f"vlearn-tui: unknown argument {args[0]!r} (try --help)", file=sys.stderr)
        return 2
    problem = content_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    VlearnApp().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
