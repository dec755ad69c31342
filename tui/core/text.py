"""Small wording helpers shared by the screens and the CLI."""
from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 drill', '2 drills', '0 drills'; `many` for irregular words."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
