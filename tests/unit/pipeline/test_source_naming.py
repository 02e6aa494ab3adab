"""The source kind is named where the user looks: the report, the dry run, a failed connection's hint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ztoq.config import ZtoqConfig, build_config
from ztoq.pipeline.phase_record import connection_hint
from ztoq.pipeline.preflight import PreflightReport, plan_source
from ztoq.pipeline.reporting import report_input
from ztoq.sources.base import SOURCE_KIND
from ztoq.store import SourceItem, Store, init_store

CLOUD = "Zephyr Scale Cloud (REST API v2)"
SERVER = "Zephyr Scale Server/Data Center (REST API v1)"


def config(base_url: str) -> ZtoqConfig:
    return build_config({"zephyr": {"base_url": base_url, "project_key": "DC"}})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    made = init_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield made
    made.close()


def record_source(store: Store, name: str) -> None:
    with store.session() as repo:
        repo.upsert_source("DC", [SourceItem(*SOURCE_KIND, {"name": name})])


def test_the_zephyr_hint_fits_the_configured_source() -> None:
    assert connection_hint("Zephyr", config("https://jira.example.com")) == (
        "Check zephyr.base_url (your Jira Server/Data Center site, e.g. https://jira.example.com) and the "
        "credentials (zephyr.api_token as a personal access token, or zephyr.username and zephyr.password)."
    )
    assert connection_hint("Zephyr", config("https://api.zephyrscale.smartbear.com/v2")) == (
        "Check zephyr.base_url (https://api.zephyrscale.smartbear.com/v2) and zephyr.api_token."
    )
    assert connection_hint("qTest", config("https://jira.example.com")).startswith("Check qtest.base_url")
    assert connection_hint("Zephyr", config("https://acme.atlassian.net/rest/zephyr/1.0")) == ""


def test_the_report_names_the_stored_source(store: Store) -> None:
    cfg = config("https://api.zephyrscale.smartbear.com/v2")
    assert report_input(store, cfg, "t").source == ""
    record_source(store, "zephyr_server")
    assert report_input(store, cfg, "t").source == SERVER


def test_the_dry_run_names_the_source_and_its_url_without_secrets(store: Store) -> None:
    cfg = config("https://jira.example.com/rest/atm/1.0?os_authType=basic")
    with store.session() as repo:
        assert plan_source(repo, cfg) == (SERVER, "https://jira.example.com/rest/atm/1.0")
    record_source(store, "zephyr_cloud")
    with store.session() as repo:
        title, url = plan_source(repo, cfg)
    assert title == CLOUD
    report = PreflightReport("DC", 9, "Target", [], [], source=title, source_url=url)
    assert report.to_json()["source"] == {"title": CLOUD, "base_url": "https://jira.example.com/rest/atm/1.0"}
