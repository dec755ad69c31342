"""What a link in a lesson points at. The Lesson screen follows the answer;
nothing here opens files or browsers."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .content import Catalog
from .content.vocab import LINK_SCHEMES


@dataclass(frozen=True)
class Target:
    kind: str  # "item" | "anchor" | "external" | "missing"
    scheme: str = ""  # for items: lesson, lab, deck, ...
    ident: str = ""
    anchor: str = ""
    url: str = ""
    reason: str = ""


def resolve_link(catalog: Catalog, href: str, base: Path | None = None) -> Target:
    href = href.strip()
    if href.startswith("#"):
        return Target("anchor", anchor=href[1:])
    if href.startswith(("http://", "https://", "mailto:")):
        return Target("external", url=href)
    scheme, sep, rest = href.partition(":")
    if sep and scheme in LINK_SCHEMES:
        ident, _, anchor = rest.partition("#")
        if catalog.resolve(scheme, ident) is None:
            return Target("missing", scheme, ident, reason=f"{scheme} '{ident}' is not written yet")
        return Target("item", scheme, ident, anchor=anchor)
    # A relative path to another lesson's Markdown file.
    path_part, _, anchor = href.partition("#")
    if base is not None and path_part:
        wanted = (base / path_part).resolve()
        for lesson in catalog.lessons.values():
            if lesson.path.resolve() == wanted:
                return Target("item", "lesson", lesson.id, anchor=anchor)
    return Target("missing", reason=f"'{href}' is not a lesson, item or web link")
