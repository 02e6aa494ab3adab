"""Which source a configuration reads, and a store that never mixes two sources in one project."""

from __future__ import annotations

from pathlib import Path

import pytest

from ztoq.config import build_config
from ztoq.errors import ConfigError, InputError
from ztoq.pipeline.source_rows import check_source, claim_source, stored_source_name
from ztoq.sources import source_name
from ztoq.sources.detect import api_kind, server_site_url
from ztoq.store import SourceItem, open_store


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://api.zephyrscale.smartbear.com/v2", "cloud"),
        ("https://eu.api.zephyrscale.smartbear.com/v2/", "cloud"),
        ("http://127.0.0.1:8100/v2", "cloud"),
        ("https://jira.example.com", "server"),
        ("https://jira.example.com/", "server"),
        ("https://jira.example.com/rest/atm/1.0", "server"),
        ("https://example.com/jira/rest/atm/1.0/", "server"),
        ("https://example.com/jira", "server"),
    ],
)
def test_the_base_url_selects_the_source(url: str, kind: str) -> None:
    assert api_kind(url) == kind
    expected = "zephyr_server" if kind == "server" else "zephyr_cloud"
    assert source_name(build_config({"zephyr": {"base_url": url}})) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://api.atlassian.com/ex/jira/0b1c/rest/zephyr/1.0",
        "https://acme.atlassian.net",
        "https://jira.example.com/rest/api/2",
    ],
)
def test_a_url_that_is_neither_form_is_refused_in_one_sentence(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        api_kind(url)
    message = str(caught.value)
    assert url in message
    assert "https://api.zephyrscale.smartbear.com/v2" in message
    assert "https://jira.example.com" in message
    assert message.count(". ") == 0


def test_zephyr_api_overrides_the_detection() -> None:
    config = build_config({"zephyr": {"base_url": "https://tm.example.com/v2", "api": "server"}})
    assert source_name(config) == "zephyr_server"
    config = build_config({"zephyr": {"base_url": "https://jira.example.com", "api": "cloud"}})
    assert source_name(config) == "zephyr_cloud"
    with pytest.raises(ConfigError, match=r"zephyr\.api"):
        build_config({"zephyr": {"api": "datacenter"}})


def test_the_site_url_drops_the_zephyr_api_path() -> None:
    assert server_site_url("https://example.com/jira/rest/atm/1.0/") == "https://example.com/jira"
    assert server_site_url("https://jira.example.com/") == "https://jira.example.com"


def test_server_credentials_are_a_token_or_a_user_and_password() -> None:
    base = {"base_url": "https://jira.example.com", "project_key": "DC"}
    with pytest.raises(ConfigError, match="personal access token"):
        build_config({"zephyr": base}).require_source("server")
    build_config({"zephyr": {**base, "api_token": "pat"}}).require_source("server")
    build_config({"zephyr": {**base, "username": "ada", "password": "pw"}}).require_source("server")
    with pytest.raises(ConfigError, match="API token"):
        build_config({"zephyr": {**base, "username": "ada", "password": "pw"}}).require_source("cloud")


def test_the_password_may_come_from_the_environment(tmp_path: Path) -> None:
    from ztoq.config import load_config

    config = load_config(None, environ={"ZTOQ_ZEPHYR_PASSWORD": "s3cret-pass"})
    assert config.zephyr.password is not None
    assert config.zephyr.password.get_secret_value() == "s3cret-pass"


def test_a_store_keeps_each_project_to_one_source(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store, store.session() as repo:
        assert stored_source_name(repo, "DC") is None
        claim_source(repo, "DC", "zephyr_server", run_id=None)
        claim_source(repo, "DC", "zephyr_server", run_id=None)
        assert stored_source_name(repo, "DC") == "zephyr_server"
        with pytest.raises(InputError, match="Server/Data Center") as caught:
            check_source(repo, "DC", "zephyr_cloud")
        assert "another database" in str(caught.value)
        # A store written before sources were recorded holds a Cloud project.
        repo.upsert_source("OLD", [SourceItem("project", "OLD", {"key": "OLD"})], run_id=None)
        assert stored_source_name(repo, "OLD") == "zephyr_cloud"
        with pytest.raises(InputError):
            claim_source(repo, "OLD", "zephyr_server")
