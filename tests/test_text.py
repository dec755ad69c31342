"""Wording helpers: relative times, counted words, lesson titles; the editor the app opens."""
from __future__ import annotations

import datetime as dt
import os
from types import SimpleNamespace

from tui.core import paths
from tui.core.text import lesson_title, plural, when

NOW = dt.datetime(2026, 12, 5, 15, 0).astimezone()


def test_times_read_as_a_person_says_them():
    at = NOW.replace(hour=10, minute=48)
    assert when(at.isoformat(timespec="seconds"), NOW) == "today 10:48"
    assert when((at - dt.timedelta(days=1)).isoformat(), NOW) == "yesterday 10:48"
    assert when(at - dt.timedelta(days=3), NOW) == "3 days ago"
    assert when(dt.datetime(2026, 11, 2, 9, 0).astimezone(), NOW) == "2 Nov"
    assert when(dt.datetime(2025, 11, 2, 9, 0).astimezone(), NOW) == "2 Nov 2025"
    utc = (at - dt.timedelta(days=1)).astimezone(dt.UTC).isoformat()  # a stamp stored in UTC reads in local time
    assert when(utc, NOW) == "yesterday 10:48"
    assert when(None, NOW) == "never"


def test_counted_words():
    assert [plural(n, "session") for n in (0, 1, 2)] == ["0 sessions", "1 session", "2 sessions"]


def test_a_walkthrough_says_so_once():
    walk = SimpleNamespace(kind="walkthrough", title="Walkthrough: the scheduler")
    assert lesson_title(walk) == lesson_title(walk, "Lesson") == "Walkthrough: the scheduler"
    assert lesson_title(SimpleNamespace(kind="walkthrough", title="The sampler")) == "Walkthrough: The sampler"
    plain = SimpleNamespace(kind="lesson", title="Roofline")
    assert lesson_title(plain) == "Roofline" and lesson_title(plain, "Lesson") == "Lesson: Roofline"


def test_the_editor_falls_back_to_one_on_path(monkeypatch, tmp_path):
    for name in ("nano", "vim"):
        exe = tmp_path / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert paths.editor() == (["vim"], "found on PATH; $EDITOR is not set")
    from tui.core.doctor import environment

    assert environment()["editor"] == "vim (found on PATH; $EDITOR is not set)"
    monkeypatch.setenv("EDITOR", "code --wait")
    assert paths.editor() == (["code", "--wait"], "$EDITOR")
    monkeypatch.setenv("PATH", os.devnull)
    monkeypatch.delenv("EDITOR")
    assert paths.editor() is None
