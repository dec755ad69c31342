"""Build hook: the wheel carries the content (curriculum, labs, kernels,
flashcards, data) inside the package, at tui/_content/.

Why a build step and not package-data or data-files: the content trees are not
Python packages (labs hold starter/solution/tests folders full of .py files that
setuptools would try to treat as packages, warn about, or drop), and
`[tool.setuptools.data-files]` installs outside the package (under
<prefix>/share), where finding it again depends on the install scheme (--user,
pipx, conda, Debian's /usr/local). Copied into the built package, the content
sits next to the code in every scheme, and `tui.core.paths.content_root()`
finds it with one `Path(__file__)` lookup. The checkout keeps one copy of the
content: nothing is copied into the source tree, and an editable install
(`pip install -e .`) copies nothing at all, it reads the checkout's own tree.
MANIFEST.in puts the same folders in an sdist so sdist -> wheel gets them too.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONTENT_DIRS = ("curriculum", "labs", "kernels", "flashcards", "data")
SKIP_DIRS = {"__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".o")
HERE = Path(__file__).resolve().parent


def content_files(root: Path):
    """(source, path relative to root) of every content file worth shipping."""
    for top in CONTENT_DIRS:
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if name.endswith(SKIP_SUFFIXES) or name.startswith("."):
                    continue
                source = Path(dirpath) / name
                yield source, source.relative_to(root)


class build_py_with_content(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own tree
        target = Path(self.build_lib) / "tui" / "_content"
        if target.exists():
            shutil.rmtree(target)
        for source, rel in content_files(HERE):
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)


setup(cmdclass={"build_py": build_py_with_content})
