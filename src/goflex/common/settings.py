"""Settings loading: environment variables ``GOFLEX_...`` over an optional TOML file over defaults.

Each service has one settings object (DESIGN.md 4). The precedence is the usual one for twelve-factor services:
explicit arguments > environment > TOML file > defaults. Certificates and keys are passed as paths, never as
values, so that a settings dump can be logged without leaking a secret.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from goflex.common.errors import ConfigError

S = TypeVar("S", bound="GoflexSettings")

DEFAULT_HOME = Path(os.environ.get("GOFLEX_HOME", "~/.local/share/goflex")).expanduser()


class _TomlSource(PydanticBaseSettingsSource):
    """Reads one table of a TOML file (``[serve]``, ``[gateway]``...) or the whole file."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None, table: str | None) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path is not None:
            try:
                document = tomllib.loads(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise ConfigError("config file", f"cannot read {path}: {exc.strerror}") from exc
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError("config file", f"{path} is not valid TOML: {exc}") from exc
            section = document.get(table, document) if table else document
            if not isinstance(section, dict):
                raise ConfigError("config file", f"[{table}] in {path} is not a table")
            self._data = section

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class GoflexSettings(BaseSettings):
    """Settings shared by all services; subclasses add their own fields."""

    model_config = SettingsConfigDict(env_prefix="GOFLEX_", extra="forbid", frozen=True)
    toml_table: ClassVar[str | None] = None

    log_level: str = Field(default="INFO", description="Python logging level")
    db_url: str = Field(
        default_factory=lambda: f"sqlite:///{DEFAULT_HOME / 'goflex.db'}",
        description="SQLAlchemy URL: sqlite:///FILE (embedded) or postgresql+psycopg://... (production)",
    )
    broker_url: str = Field(default="mqtts://localhost:8883", description="mqtts://HOST:PORT of the broker")
    pki_dir: Path = Field(default_factory=lambda: DEFAULT_HOME / "pki", description="directory of the CA")
    api_port: int = Field(default=8080, ge=0, le=65535)
    admin_password: SecretStr | None = Field(default=None, description="initial password of user 'admin'")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = os.environ.get("GOFLEX_CONFIG")
        toml = _TomlSource(settings_cls, Path(config) if config else None, cls.toml_table)
        return (init_settings, env_settings, toml)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build ``cls`` from overrides, environment and ``$GOFLEX_CONFIG``; errors name the bad setting.

    Overrides whose value is ``None`` are ignored, so command-line options that were not given fall through to
    the environment and the file.

    Raises:
        ConfigError: a value is missing or invalid.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return cls(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(name, first["msg"]) from exc
