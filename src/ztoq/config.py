"""The migration configuration: ``config.yaml`` exactly as the seed guide shows it, plus ``ZTOQ_*`` overrides.

Precedence (highest first): command-line options, environment variables, the YAML file, defaults.
Secrets may come from the environment instead of the file: ``ZTOQ_ZEPHYR_API_TOKEN`` and
``ZTOQ_QTEST_BEARER_TOKEN`` (also ``ZTOQ_QTEST_PASSWORD``), and the names the seed guide's CI
example uses, ``zephyr_access_token`` and ``qtest_bearer_token``. Every other key can be
overridden as ``ZTOQ_<SECTION>_<KEY>``, e.g. ``ZTOQ_PERFORMANCE_MAX_WORKERS=16``.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote_plus, urlsplit

import yaml
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from ztoq.config_sections import CustomFieldMap as CustomFieldMap
from ztoq.config_sections import FieldTypes as FieldTypes
from ztoq.config_sections import JiraConfig as JiraConfig
from ztoq.config_sections import NotificationsConfig as NotificationsConfig
from ztoq.config_sections import _check_url, _Section
from ztoq.errors import ConfigError

PHASES: tuple[str, ...] = ("extract", "transform", "load", "validate")


class ZephyrConfig(_Section):
    """Where and how to read Zephyr Scale: Cloud (REST API v2) or Server/Data Center (REST API v1).

    ``api`` says which; ``auto`` decides from ``base_url`` (:mod:`ztoq.sources.detect`). Cloud
    authenticates with ``api_token`` (a Zephyr Scale API token); Server/Data Center with
    ``api_token`` as a Jira personal access token (Jira 8.14+), or ``username`` + ``password``.
    """

    base_url: str = "https://api.zephyrscale.smartbear.com/v2"
    api: Literal["auto", "cloud", "server"] = "auto"
    api_token: SecretStr | None = None
    #: Server/Data Center basic authentication (when no personal access token is set).
    username: str | None = None
    password: SecretStr | None = None
    project_key: str = ""
    #: Seed-guide troubleshooting keys. rate_limit_delay: seconds between requests (0 = none).
    rate_limit_delay: float = Field(0.0, ge=0)
    #: Requests per second to Zephyr (0 = unlimited; the API's 429s still pace us).
    requests_per_second: float = Field(0.0, ge=0)
    auto_retry: bool = True
    retry_count: int = Field(8, ge=0, le=100)
    page_size: int = Field(100, ge=1, le=1000)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v, "zephyr.base_url")


class QTestConfig(_Section):
    """Where and how to write qTest Manager."""

    base_url: str = ""
    bearer_token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    project_id: int = 0
    #: Name of the module all migrated modules go under (default: the Zephyr project key).
    root_module: str | None = None
    #: qTest text field that holds the Zephyr key of each migrated entity.
    source_key_field: str = "Zephyr Key"
    #: Approve test cases after creating them (qTest test logs bind to approved versions).
    approve_test_cases: bool = True
    #: Test cycle receiving executions that belong to no Zephyr cycle.
    adhoc_cycle: str = "Ad hoc executions"
    requests_per_second: float = Field(0.0, ge=0)
    retry_count: int = Field(8, ge=0, le=100)
    #: Largest attachment qTest accepts, in MB (qTest SaaS: 50; on-premise sites may raise it).
    #: Larger files are not sent: they stay in the attachment cache and the report lists them.
    max_attachment_mb: float = Field(50.0, gt=0)

    @property
    def max_attachment_bytes(self) -> int:
        """:attr:`max_attachment_mb` in bytes (1 MB = 1024 * 1024 bytes, as qTest counts)."""
        return int(self.max_attachment_mb * 1024 * 1024)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v, "qtest.base_url") if v else v


class DatabaseConfig(_Section):
    """The intermediate store: SQLite by default, PostgreSQL for large migrations."""

    type: Literal["sqlite", "postgresql"] = "sqlite"
    path: str = "./migration.db"
    url: str | None = None
    host: str = "localhost"
    port: int = 5432
    username: str | None = None
    password: SecretStr | None = None
    database: str = "ztoq_db"

    def sqlalchemy_url(self) -> str:
        """The SQLAlchemy URL of the store (the password is part of it: never log it)."""
        if self.url:
            return self.url
        if self.type == "sqlite":
            return f"sqlite:///{Path(self.path).expanduser()}"
        auth = ""
        if self.username:
            auth = quote_plus(self.username)
            if self.password is not None:
                auth += ":" + quote_plus(self.password.get_secret_value())
            auth += "@"
        return f"postgresql+psycopg://{auth}{self.host}:{self.port}/{self.database}"

    def describe(self) -> str:
        """A printable description of the store, without any password."""
        if self.url:
            parts = urlsplit(self.url)
            host = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "")
            return f"{parts.scheme}://{host}{parts.path}" if host else self.url.split("?")[0]
        if self.type == "sqlite":
            return str(Path(self.path).expanduser())
        return f"postgresql://{self.host}:{self.port}/{self.database}"


class PerformanceConfig(_Section):
    """Concurrency and batching."""

    batch_size: int = Field(100, ge=1, le=10_000)
    max_workers: int = Field(8, ge=1, le=256)
    #: Transform always works in batches of ``batch_size``; ``false`` is accepted, warned about
    #: once per run (:func:`inert_settings`), and changes nothing.
    use_batch_transformer: bool = True
    #: In a run of extract, transform and load, load the modules and test cases into qTest while
    #: extract still reads the plans, cycles and executions (both APIs' quotas kept busy);
    #: ``false`` runs the phases strictly one after the other.
    overlap_phases: bool = True


class MigrationConfig(_Section):
    """What to migrate and how."""

    #: Delta syncs: extract asks Zephyr only for what changed since the last sync (see
    #: ``pipeline/extract_sync.py``), and every run sends qTest only what changed.
    incremental: bool = False
    #: This run's extract is a full sync: everything listed, deletions marked, every test case's
    #: steps read again (``ztoq migrate run --full``).
    full_sync: bool = False
    #: With ``incremental``: a full sync when the last one started this many days ago (0: every run).
    full_sync_every_days: int = Field(7, ge=0)
    #: Migrate the files attached to test cases, steps, plans, cycles, executions and step results.
    include_attachments: bool = True
    #: Where downloaded attachments are kept (content-addressed); default: ``attachments/`` next to
    #: the SQLite store, or in ``output_dir`` for PostgreSQL.
    attachments_dir: str | None = None
    #: Validation downloads every migrated attachment back and compares SHA-256 (``--deep`` too).
    verify_attachment_content: bool = False
    phases: list[str] = Field(default_factory=lambda: list(PHASES))
    #: ``true`` refuses ``ztoq workflow rollback`` for this configuration (a production guard).
    no_rollback: bool = False
    #: Delete (in qTest) what was deleted in Zephyr; off by default: deletions are only reported.
    propagate_deletions: bool = False

    @field_validator("phases", mode="before")
    @classmethod
    def _phases(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("phases")
    @classmethod
    def _known_phases(cls, v: list[str]) -> list[str]:
        unknown = [p for p in v if p not in PHASES]
        if unknown:
            raise ValueError(f"unknown phase(s) {', '.join(unknown)}; use {','.join(PHASES)}")
        return [p for p in PHASES if p in v]


def attachments_dir(config: ZtoqConfig) -> Path:
    """Where the attachment cache of ``config`` lives (see :attr:`MigrationConfig.attachments_dir`)."""
    if config.migration.attachments_dir:
        return Path(config.migration.attachments_dir).expanduser()
    database = config.database
    if database.type == "sqlite" and not database.url:
        return Path(database.path).expanduser().parent / "attachments"
    if database.url and database.url.startswith("sqlite:///") and ":memory:" not in database.url:
        return Path(database.url.removeprefix("sqlite:///")).expanduser().parent / "attachments"
    return Path(config.output_dir).expanduser() / "attachments"


class LoggingConfig(_Section):
    """Log level and optional log file."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    file: str | None = None

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v


class NetworkConfig(_Section):
    """Timeouts and retries shared by both APIs (seed guide: network.timeout/retry_count/retry_delay)."""

    timeout: float = Field(60.0, gt=0)
    retry_count: int = Field(8, ge=0, le=100)
    retry_delay: float = Field(1.0, ge=0)
    #: Give up on a request after this many seconds of retrying (the retry budget).
    retry_budget_seconds: float = Field(300.0, ge=0)
    insecure: bool = False
    #: What sends the requests: aiohttp (the default; about a sixth of httpx's CPU per request,
    #: scripts/bench_http.py) or httpx's own transport (the one HTTP/2 and SOCKS proxies always
    #: use), should a network setup need it.
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"


class MappingsConfig(_Section):
    """Value mappings where labels differ between Zephyr and qTest."""

    priority: dict[str, str] = Field(default_factory=dict)
    status: dict[str, str] = Field(default_factory=dict)
    execution_status: dict[str, str] = Field(default_factory=dict)
    #: Jira accountId -> qTest user id or login email.
    users: dict[str, str | int] = Field(default_factory=dict)
    #: A ``users-map.yaml`` (``ztoq users plan --write-map``) whose ``users`` are merged under
    #: ``users`` (entries written in ``users`` win); relative to the config file's folder.
    users_file: str | None = None
    default_user: str | int | None = None
    environment_field: str = "Environment"
    #: Zephyr test case field -> qTest field label for estimatedTime, labels, component, owner.
    test_case_fields: dict[str, str] = Field(default_factory=dict)


class ZtoqConfig(_Section):
    """The whole configuration."""

    zephyr: ZephyrConfig = Field(default_factory=ZephyrConfig)
    qtest: QTestConfig = Field(default_factory=QTestConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    migration: MigrationConfig = Field(default_factory=MigrationConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    mappings: MappingsConfig = Field(default_factory=MappingsConfig)
    custom_fields: CustomFieldMap = Field(default_factory=CustomFieldMap)
    #: Data types ``ztoq fields apply`` gives the fields it creates instead of the proposed ones.
    field_types: FieldTypes = Field(default_factory=FieldTypes)
    #: Jira's user API (``ztoq users plan``); no ``jira:`` section: people keep their account ids.
    jira: JiraConfig = Field(default_factory=JiraConfig)
    #: A webhook message when ``ztoq migrate run`` ends; None (no ``notifications:`` section): none.
    notifications: NotificationsConfig | None = None
    #: Where reports and artifacts go.
    output_dir: str = "./ztoq-output"

    @property
    def root_module_name(self) -> str:
        return self.qtest.root_module or self.zephyr.project_key

    def require_source(self, kind: Literal["cloud", "server"] = "cloud") -> None:
        """Fail with one sentence when Zephyr settings needed to extract are missing.

        Args:
            kind: the API the source reads (``ztoq.sources.source_name`` decides which).
        """
        if not self.zephyr.project_key:
            raise ConfigError("zephyr.project_key is not set; add it to the config file (e.g. PROJ).")
        if kind == "server":
            if self.zephyr.api_token is None and not (self.zephyr.username and self.zephyr.password):
                raise ConfigError(
                    "No Jira Server/Data Center credentials: set zephyr.api_token (a Jira personal access "
                    "token, or ZTOQ_ZEPHYR_API_TOKEN), or zephyr.username and zephyr.password "
                    "(or ZTOQ_ZEPHYR_PASSWORD)."
                )
            return
        if self.zephyr.api_token is None:
            raise ConfigError(
                "No Zephyr API token: set zephyr.api_token in the config or ZTOQ_ZEPHYR_API_TOKEN."
            )

    def require_target(self) -> None:
        """Fail with one sentence when qTest settings needed to load are missing."""
        if not self.qtest.base_url:
            raise ConfigError(
                "qtest.base_url is not set; add it to the config (e.g. https://x.qtestnet.com)."
            )
        if not self.qtest.project_id:
            raise ConfigError("qtest.project_id is not set; add the numeric qTest project id to the config.")
        if self.qtest.bearer_token is None and not (self.qtest.username and self.qtest.password):
            raise ConfigError(
                "No qTest credentials: set qtest.bearer_token (or ZTOQ_QTEST_BEARER_TOKEN), "
                "or qtest.username and qtest.password."
            )


#: Environment variables that may hold secrets, checked in order, and where they go.
_SECRET_ENV: tuple[tuple[str, tuple[str, str]], ...] = (
    ("ZTOQ_ZEPHYR_API_TOKEN", ("zephyr", "api_token")),
    ("zephyr_access_token", ("zephyr", "api_token")),
    ("ZEPHYR_ACCESS_TOKEN", ("zephyr", "api_token")),
    ("ZTOQ_QTEST_BEARER_TOKEN", ("qtest", "bearer_token")),
    ("qtest_bearer_token", ("qtest", "bearer_token")),
    ("QTEST_BEARER_TOKEN", ("qtest", "bearer_token")),
    ("ZTOQ_QTEST_PASSWORD", ("qtest", "password")),
    ("ZTOQ_ZEPHYR_PASSWORD", ("zephyr", "password")),
    ("ZTOQ_DATABASE_PASSWORD", ("database", "password")),
    ("ZTOQ_JIRA_API_TOKEN", ("jira", "api_token")),
    ("ZTOQ_JIRA_PAT", ("jira", "pat")),
    ("ZTOQ_JIRA_PASSWORD", ("jira", "password")),
)

_SECTIONS: dict[str, type[_Section]] = {
    "zephyr": ZephyrConfig,
    "qtest": QTestConfig,
    "database": DatabaseConfig,
    "performance": PerformanceConfig,
    "migration": MigrationConfig,
    "logging": LoggingConfig,
    "network": NetworkConfig,
    "notifications": NotificationsConfig,
    "jira": JiraConfig,
}


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``ZTOQ_<SECTION>_<KEY>`` values, nested by section (scalars only; YAML-parsed)."""
    out: dict[str, dict[str, Any]] = {}
    for section, model in _SECTIONS.items():
        for key in model.model_fields:
            name = f"ZTOQ_{section}_{key}".upper()
            if name in environ:
                raw = environ[name]
                try:
                    value = yaml.safe_load(raw) if raw.strip() else raw
                except yaml.YAMLError:
                    value = raw
                if key in ("api_token", "bearer_token", "password", "pat"):
                    value = raw
                out.setdefault(section, {})[key] = value
    for name, (section, key) in _SECRET_ENV:
        if environ.get(name) and key not in out.get(section, {}):
            out.setdefault(section, {})[key] = environ[name]
    return out


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: Path, what: str = "config file") -> dict[str, Any]:
    """Read a YAML mapping, turning every failure into one clear ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"The {what} {path} does not exist; check the path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"The {what} {path} cannot be read ({exc}); check it is a UTF-8 text file."
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"The {what} {path} is not valid YAML{where}; fix the syntax.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"The {what} {path} must hold a mapping of keys, not a {type(data).__name__}.")
    return data


def _describe_validation_error(exc: ValidationError, source: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"Unknown config key '{loc}' in {source}; check its spelling against the documentation."
    if err["type"] == "missing":
        return f"Config key '{loc}' is required in {source}."
    msg = err["msg"].removeprefix("Value error, ")
    return f"Config key '{loc}' in {source} is invalid: {msg}."


def build_config(data: dict[str, Any], source: str = "the configuration") -> ZtoqConfig:
    """Validate a config mapping, with one clear sentence naming the bad key on failure."""
    data = dict(data)
    # The seed guide writes custom_fields_map.yaml's sections at top level of a separate file;
    # inside config.yaml they live under custom_fields (also accepted as custom_field_map).
    if "custom_field_map" in data and "custom_fields" not in data:
        data["custom_fields"] = data.pop("custom_field_map")
    try:
        return ZtoqConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, source)) from None


def load_config(
    path: Path | None,
    *,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    custom_field_map: Path | None = None,
) -> ZtoqConfig:
    """Load ``config.yaml`` (if given), apply ``ZTOQ_*`` environment values and command-line overrides."""
    env = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    source = "the configuration"
    if path is not None:
        data = read_yaml(path)
        source = str(path)
        _warn_if_secret_file_is_shared(path, data)
    data = _deep_merge(data, _env_overrides(env))
    if overrides:
        data = _deep_merge(data, overrides)
    if custom_field_map is not None:
        data = _deep_merge(data, {"custom_fields": load_custom_field_map(custom_field_map)})
    config = build_config(data, source)
    if config.mappings.users_file:
        folder = path.parent if path is not None else Path.cwd()
        from_file = load_users_file(folder / Path(config.mappings.users_file).expanduser())
        config.mappings.users = {**from_file, **config.mappings.users}
    return config


def load_users_file(path: Path) -> dict[str, str | int]:
    """The ``users`` of a users map (``ztoq users plan --write-map``): account id -> qTest user.

    Entries left empty (``null``) are skipped: they stay unmatched.
    """
    data = read_yaml(path, "users map")
    users = data.get("users") or {}
    if not isinstance(users, dict):
        raise ConfigError(
            f"The users map {path} must hold `users:` as a mapping of account id -> qTest user."
        )
    found: dict[str, str | int] = {}
    for account, user in users.items():
        if user is None or user == "":
            continue
        if not isinstance(user, str | int) or isinstance(user, bool):
            raise ConfigError(
                f"The users map {path} maps {account} to {user!r}; give a qTest user id or login."
            )
        found[str(account)] = user
    return found


def load_custom_field_map(path: Path) -> dict[str, dict[str, str]]:
    """Read a seed-guide ``custom_fields_map.yaml`` (``test_case: {"Zephyr field": "qTest field"}``)."""
    data = read_yaml(path, "custom field map")
    try:
        return CustomFieldMap.model_validate(data).model_dump()
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, str(path))) from None


def _warn_if_secret_file_is_shared(path: Path, data: dict[str, Any]) -> None:
    holds_secret = any(
        isinstance(data.get(section), dict) and data[section].get(key)
        for section, key in (
            ("zephyr", "api_token"),
            ("zephyr", "password"),
            ("qtest", "bearer_token"),
            ("qtest", "password"),
            ("jira", "api_token"),
            ("jira", "pat"),
            ("jira", "password"),
        )
    )
    if not holds_secret or os.name != "posix":
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        warnings.warn(
            f"{path} holds secrets and is readable by other users; run: chmod 600 {path}",
            UserWarning,
            stacklevel=2,
        )


def inert_settings(config: ZtoqConfig) -> list[str]:
    """One sentence for each setting of ``config`` that is accepted but changes nothing.

    The seed guide's configuration carries these keys, so they are valid; a run says once that
    they have no effect instead of ignoring them silently.
    """
    sentences: list[str] = []
    if not config.performance.use_batch_transformer:
        sentences.append(
            "performance.use_batch_transformer: false has no effect; transform always works in batches "
            "of performance.batch_size."
        )
    return sentences
