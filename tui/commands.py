"""Command palette: jump to any day, lesson, lab or drill by typing its name."""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .core.text import lesson_title


class ContentCommands(Provider):
    def _entries(self) -> list[tuple[str, str, callable]]:
        app = self.app
        catalog = app.catalog
        entries = []
        for number, day in catalog.days.items():
            entries.append((f"Day {number}: {day.title}", "open the day's checklist", partial(app.open_day, number)))
        for lesson in catalog.lessons.values():
            entries.append((lesson_title(lesson, "Lesson"), lesson.id, partial(app.open_item, "lesson", lesson.id)))
        for lab in list(catalog.labs.values()) + list(catalog.projects.values()):
            entries.append((f"Lab: {lab.title}", lab.id, partial(app.open_item, "lab", lab.id)))
        for question in catalog.questions.values():
            entries.append((f"Drill: {question.title}", f"{question.category}, {question.minutes} min · {question.id}",
                            partial(app.open_item, "drill", question.id)))
        return entries

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries()[:40]:
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = matcher.match(f"{title} {help_text}")
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)

