from __future__ import annotations

from pathlib import Path

import pytest

from goflex.common import ConfigError, GoflexSettings, load_settings


def test_environment_beats_toml_and_overrides_beat_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "goflex.toml"
    config.write_text('api_port = 9000\nlog_level = "DEBUG"\ndb_url = "sqlite:///from-toml.db"\n')
    monkeypatch.setenv("GOFLEX_CONFIG", str(config))
    monkeypatch.setenv("GOFLEX_API_PORT", "9100")
    settings = load_settings(GoflexSettings, db_url=None, log_level="WARNING")
    assert settings.api_port == 9100
    assert settings.log_level == "WARNING"
    assert settings.db_url == "sqlite:///from-toml.db"


def test_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOFLEX_API_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="api_port"):
        load_settings(GoflexSettings)


def test_unreadable_toml_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("api_port = = 3")
    monkeypatch.setenv("GOFLEX_CONFIG", str(bad))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(GoflexSettings)
