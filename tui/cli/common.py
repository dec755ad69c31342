"""What several commands share: the content and the progress database."""
from __future__ import annotations

import sys


def open_store_or_exit():
    """progress.db, or a clear message and exit status 1 (the file is left alone)."""
    from ..core.store import StoreError, open_store

    try:
        return open_store()
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def content_and_store():
    """The (cached) catalog and the open database, for commands that need both."""
    from ..core.content import load_catalog_cached

    catalog = load_catalog_cached()
    if catalog.errors:
        print(f"note: {len(catalog.errors)} content problems (see `vlearn doctor`)", file=sys.stderr)
    return catalog, open_store_or_exit()
