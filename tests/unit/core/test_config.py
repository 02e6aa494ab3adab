"""config.yaml as the seed guide shows it, environment overrides, and clear errors."""

from __future__ import annotations

import os
import stat
import textwrap
import warnings
from pathlib import Path

import pytest

from ztoq.config import load_config, load_custom_field_map
from ztoq.errors import ConfigError

SEED_CONFIG = """
zephyr:
  base_url: https://api.atlassian.com/ex/jira/your-instance/rest/zephyr/1.0
  api_token: YOUR_ZEPHYR_TOKEN
  project_key: PROJECT

qtest:
  base_url: https://yourcompany.qtestnet.com
  bearer_token: YOUR_QTEST_TOKEN
  project_id: 12345

database:
  type: sqlite  # or postgresql
  path: ./migration.db
  # PostgreSQL specific options
  # host: localhost

performance:
  batch_size: 100
  max_workers: 8
  use_batch_transformer: true

migration:
  incremental: false
  include_attachments: true
  phases: extract,transform,load,validate
  no_rollback: false

logging:
  level: INFO  # DEBUG, INFO, WARNING, ERROR, CRITICAL
  file: ztoq-migration.log
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    path.chmod(0o600)
    return path


def test_seed_guide_config_loads_as_shown(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SEED_CONFIG), environ={})
    assert cfg.zephyr.project_key == "PROJECT"
    assert cfg.zephyr.api_token is not None
    assert cfg.zephyr.api_token.get_secret_value() == "YOUR_ZEPHYR_TOKEN"
    assert cfg.qtest.project_id == 12345
    assert cfg.migration.phases == ["extract", "transform", "load", "validate"]
    assert cfg.database.sqlalchemy_url() == "sqlite:///migration.db"
    assert cfg.root_module_name == "PROJECT"
    cfg.require_source()
    cfg.require_target()


def test_seed_guide_troubleshooting_keys(tmp_path: Path) -> None:
    text = SEED_CONFIG + ("network:\n  timeout: 60\n  retry_count: 3\n  retry_delay: 5\n")
    text = text.replace(
        "  project_key: PROJECT\n",
        "  project_key: PROJECT\n  rate_limit_delay: 5\n  auto_retry: true\n  retry_count: 3\n",
    )
    cfg = load_config(write(tmp_path, text), environ={})
    assert cfg.zephyr.rate_limit_delay == 5
    assert cfg.network.retry_delay == 5


def test_secrets_never_in_repr(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SEED_CONFIG), environ={})
    assert "YOUR_ZEPHYR_TOKEN" not in repr(cfg)
    assert "YOUR_QTEST_TOKEN" not in str(cfg.model_dump())


@pytest.mark.parametrize(
    ("env", "section", "key", "value"),
    [
        ({"ZTOQ_ZEPHYR_API_TOKEN": "envtok"}, "zephyr", "api_token", "envtok"),
        ({"zephyr_access_token": "citok"}, "zephyr", "api_token", "citok"),
        ({"ZTOQ_QTEST_BEARER_TOKEN": "qenv"}, "qtest", "bearer_token", "qenv"),
        ({"qtest_bearer_token": "qci"}, "qtest", "bearer_token", "qci"),
    ],
)
def test_secrets_from_environment(
    tmp_path: Path, env: dict[str, str], section: str, key: str, value: str
) -> None:
    text = SEED_CONFIG.replace("  api_token: YOUR_ZEPHYR_TOKEN\n", "").replace(
        "  bearer_token: YOUR_QTEST_TOKEN\n", ""
    )
    cfg = load_config(write(tmp_path, text), environ=env)
    secret = getattr(getattr(cfg, section), key)
    assert secret.get_secret_value() == value


def test_env_overrides_any_key(tmp_path: Path) -> None:
    cfg = load_config(
        write(tmp_path, SEED_CONFIG),
        environ={"ZTOQ_PERFORMANCE_MAX_WORKERS": "16", "ZTOQ_MIGRATION_INCREMENTAL": "true"},
    )
    assert cfg.performance.max_workers == 16
    assert cfg.migration.incremental is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zephyr: [unclosed", "is not valid YAML at line"),
        ("- a\n- b\n", "must hold a mapping"),
        ("zephyr:\n  project_kee: X\n", "Unknown config key 'zephyr.project_kee'"),
        ("colour: blue\n", "Unknown config key 'colour'"),
        ("performance:\n  max_workers: many\n", "Config key 'performance.max_workers'"),
        ("performance:\n  max_workers: 0\n", "Config key 'performance.max_workers'"),
        ("migration:\n  phases: extract,lod\n", "unknown phase(s) lod"),
        ("qtest:\n  base_url: ftp://x\n", "qtest.base_url must be an http(s) URL"),
        ("database:\n  type: oracle\n", "Config key 'database.type'"),
    ],
)
def test_bad_config_one_sentence(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_require_target_messages(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "zephyr:\n  project_key: P\n"), environ={})
    with pytest.raises(ConfigError, match="No Zephyr API token"):
        cfg.require_source()
    with pytest.raises(ConfigError, match=r"qtest\.base_url is not set"):
        cfg.require_target()


def test_postgres_url_and_describe_hide_password(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            "database:\n  type: postgresql\n  host: db\n  username: ztoq_user\n"
            "  password: p@ss/word\n  database: ztoq_db\n",
        ),
        environ={},
    )
    assert cfg.database.sqlalchemy_url() == "postgresql+psycopg://ztoq_user:p%40ss%2Fword@db:5432/ztoq_db"
    assert "p@ss" not in cfg.database.describe()


def test_custom_field_map_seed_format(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        test_case:
          # Zephyr field name: qTest field name
          "Requirement ID": "Requirement"
          "Automation Status": "Automation"
        test_cycle:
          "Sprint": "Sprint Number"
        test_execution:
          "Environment": "Test Environment"
        """,
        "custom_fields_map.yaml",
    )
    data = load_custom_field_map(path)
    assert data["test_case"] == {"Requirement ID": "Requirement", "Automation Status": "Automation"}
    cfg = load_config(write(tmp_path, SEED_CONFIG), environ={}, custom_field_map=path)
    assert cfg.custom_fields.test_cycle == {"Sprint": "Sprint Number"}


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_world_readable_secret_file_warns(tmp_path: Path) -> None:
    path = write(tmp_path, SEED_CONFIG)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_config(path, environ={})
    assert any("readable by other users" in str(w.message) for w in caught)


def test_inert_settings_are_named_once_each() -> None:
    from ztoq.config import build_config, inert_settings

    base = {"zephyr": {"project_key": "P"}}
    assert inert_settings(build_config(base)) == []  # attachments are migrated: not inert any more
    batch = build_config({**base, "performance": {"use_batch_transformer": False}})
    [sentence] = inert_settings(batch)
    assert "use_batch_transformer: false has no effect" in sentence


def test_no_rollback_refuses_a_rollback_before_touching_anything() -> None:
    from ztoq.config import build_config
    from ztoq.pipeline.rollback import run_rollback

    config = build_config(
        {
            "zephyr": {"project_key": "P"},
            "migration": {"no_rollback": True},
            "database": {"path": "/nonexistent/x.db"},
        }
    )
    with pytest.raises(ConfigError, match=r"migration.no_rollback: true"):
        run_rollback(config, ["load"], dry_run=True, confirm=lambda _: True)
