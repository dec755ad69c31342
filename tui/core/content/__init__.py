"""Typed, validated content. `load_catalog()` is the one entry point."""
from .base import Fields, LineDict, LoadContext, Problem, Source
from .catalog import Catalog, load_catalog, load_catalog_cached

__all__ = ["Catalog", "Fields", "LineDict", "LoadContext", "Problem", "Source", "load_catalog", "load_catalog_cached"]
