"""Settings in one place: the TOML file, the keys routed to it, the migration
out of progress.db, `vlearn config`, the editor and the theme that persists."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tui.cli import main
from tui.core import config
from tui.core.store import progress

FIXTURE = Path(__file__).parent / "fixtures" / "content"


def _file(home: Path) -> dict:
    return tomllib.loads((home / "settings.toml").read_text())


def test_path_follows_vlearn_home_and_vlearn_config(vlearn_home, monkeypatch, tmp_path):
    assert config.config_path() == vlearn_home / "settings.toml"
    monkeypatch.setenv("VLEARN_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert config.config_path() == tmp_path / "elsewhere.toml"


def test_writer_round_trips_awkward_strings(tmp_path):
    path = tmp_path / "s.toml"
    awkward = 'ssh -o "ProxyCommand=nc %h %p" gpu\\box\tü\n'
    config.update({"labs.remote_runner": awkward, "llm.timeout_s": "45", "srs.new_per_day": "7"}, path)
    data = tomllib.loads(path.read_text())
    assert data == {"labs": {"remote_runner": awkward}, "llm": {"timeout_s": 45.0}, "srs": {"new_per_day": 7}}
    assert config.get("llm.timeout_s", path=path) == 45.0


def test_checks_keys_and_values(tmp_path):
    path = tmp_path / "s.toml"
    with pytest.raises(config.ConfigError, match="unknown setting"):
        config.set_value("llm.api_key", "sk-123", path)  # there is no place for a key
    with pytest.raises(config.ConfigError, match="between"):
        config.set_value("srs.desired_retention", "1.5", path)
    with pytest.raises(config.ConfigError, match="takes a int"):
        config.set_value("srs.new_per_day", "many", path)
    from tui.cli.config import _theme_names

    config.CHOICES["ui.theme"] = _theme_names  # the CLI registers Textual's theme names (core must not import Textual)
    with pytest.raises(config.ConfigError, match="unknown value 'no-such-theme' for ui.theme"):
        config.set_value("ui.theme", "no-such-theme", path)
    assert not path.exists()


def test_broken_file_names_itself(vlearn_home):
    (vlearn_home / "settings.toml").write_text("[ui\ntheme = 'x'\n")
    with pytest.raises(config.ConfigError, match="settings.toml"):
        config.get("ui.theme")


def test_commands_that_change_settings_write_the_file_not_the_db(db, vlearn_home):
    from tui.core import llm, srs
    from tui.core.labs import remote

    srs.set_retention(db, 0.85)
    srs.set_new_per_day(db, 5)
    llm.save_config(db, llm.ModelConfig("http://127.0.0.1:8000/v1", "m", api_key_env="MY_KEY", timeout_s=12))
    remote.set_command(db, "ssh gpu-box")
    data = _file(vlearn_home)
    assert data["srs"] == {"desired_retention": 0.85, "new_per_day": 5}
    assert data["llm"] == {"base_url": "http://127.0.0.1:8000/v1", "model": "m", "api_key_env": "MY_KEY",
                           "timeout_s": 12.0}
    assert data["labs"] == {"remote_runner": "ssh gpu-box"}
    assert db.execute("select count(*) from settings where key like 'srs.%' and key != 'srs.parameters' "
                      "or key like 'llm.%' or key like 'labs.%'").fetchone()[0] == 0
    assert srs.settings(db).retention == 0.85 and srs.settings(db).new_per_day == 5
    assert llm.config_from_settings(db).timeout_s == 12.0
    remote.set_command(db, None)
    assert remote.configured(db) is None and "labs" not in _file(vlearn_home)
    # What the app records about the learner stays in progress.db.
    progress.set_setting(db, "start_date", "2026-01-01")
    assert "start_date" not in (vlearn_home / "settings.toml").read_text()


def test_old_settings_move_out_of_progress_db(db, vlearn_home):
    with db.atomic():
        db.execute("insert into settings(key, value) values ('srs.review_limit', '150'), "
                   "('llm.model', 'old'), ('labs.remote_runner', 'ssh old'), ('srs.parameters', '[1, 2]')")
    config.set_value("llm.model", "newer")  # a value already in the file wins
    assert progress.get_setting(db, "srs.review_limit") == "150"
    data = _file(vlearn_home)
    assert data["srs"]["review_limit"] == 150 and data["llm"]["model"] == "newer"
    assert data["labs"]["remote_runner"] == "ssh old"
    left = [k for (k,) in db.execute("select key from settings")]
    assert "srs.parameters" in left and not {"srs.review_limit", "llm.model", "labs.remote_runner"} & set(left)


def test_config_command(vlearn_home, capsys):
    assert main(["config", "set", "ui.theme", "nord"]) == 0
    assert main(["config", "get", "ui.theme"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "nord"
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(vlearn_home / "settings.toml")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "ui.theme" in out and "'nord'" in out and "srs.new_per_day" in out and "(default)" in out
    assert main(["config", "set", "srs.new_per_day", "lots"]) == 2
    assert "takes a int" in capsys.readouterr().err
    assert main(["config", "set", "bogus.key", "1"]) == 2
    assert main(["config", "unset", "ui.theme"]) == 0
    assert main(["config", "get", "ui.theme"]) == 1


def test_editor_setting_wins_over_environment(vlearn_home, monkeypatch):
    from tui.core import paths

    monkeypatch.setenv("EDITOR", "nano")
    monkeypatch.delenv("VISUAL", raising=False)
    assert paths.editor()[0] == ["nano"]
    config.set_value("editor.command", "code --wait")
    command, source = paths.editor()
    assert command == ["code", "--wait"] and "editor.command" in source


async def test_theme_chosen_in_the_app_persists(vlearn_home):
    from tui.app import VlearnApp
    from tui.core.content import load_catalog
    from tui.core.store import open_store

    catalog = load_catalog(FIXTURE)
    app = VlearnApp(catalog=catalog, db=open_store(vlearn_home / "progress.db"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.theme = "nord"  # what the palette's "Change theme" does
        await pilot.pause()
    assert _file(vlearn_home)["ui"]["theme"] == "nord"
    again = VlearnApp(catalog=catalog, db=open_store(vlearn_home / "progress.db"))
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "nord"
