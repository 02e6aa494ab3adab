"""Negative field IDs: real qTest sites number their site-level system fields below zero (test suite
fields Description -184, Environment -185, Execution Type -186...). ztoq reads them, maps Zephyr
values onto them, checks them in the preflight and sends them back, through the simulator's real
answers (in process, ``httpx.ASGITransport``)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ztoq.http import ApiSession, RetryPolicy
from ztoq.mapping.lookups import SourceLookups, TargetField, TargetFields, UserResolver
from ztoq.mapping.properties import PropertySet
from ztoq.pipeline.preflight_checks import Names, check_entity, missing_required
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Field, Property
from ztoq.qtest.settings import TargetSettings, read_target_settings
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.values import int_or_none


def _client(sim: QTestSimulator) -> QTestClient:
    session = ApiSession(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app)),
        api_name="qTest",
        base_url="https://acme.qtestnet.com",
        auth=lambda: f"Bearer {DEFAULT_QTEST_TOKEN}",
        retry=RetryPolicy(retry_count=0),
        owns_client=True,
    )
    return QTestClient(session, next(iter(sim.state.projects)))


@pytest.fixture
def sim() -> QTestSimulator:
    return QTestSimulator.generated(seed=7)


def _settings(sim: QTestSimulator) -> TargetSettings:
    async def go() -> TargetSettings:
        client = _client(sim)
        try:
            return await read_target_settings(client, include_inactive=True)
        finally:
            await client.aclose()

    return asyncio.run(go())


def _target(settings: TargetSettings) -> TargetFields:
    return TargetFields.from_settings(
        settings.field_payloads(), settings.status_payloads(), settings.user_payloads()
    )


def test_values_and_models_keep_negative_ids() -> None:
    assert int_or_none("-184") == -184
    assert int_or_none(" -7 ") == -7
    assert int_or_none("-") is None
    assert Property.model_validate({"field_id": -184, "field_value": "x"}).to_wire()["field_id"] == -184
    raw = {
        "id": -185,
        "label": "Environment",
        "data_type": 3,
        "allowed_values": [{"value": 9, "label": "Chrome"}],
    }
    field = TargetField.from_resource(Field.model_validate(raw).to_wire())
    assert field is not None
    assert (field.id, field.choice("chrome") is not None) == (-185, True)


def test_the_settings_reader_and_lookups_read_site_level_fields(sim: QTestSimulator) -> None:
    settings = _settings(sim)
    suite_fields = {f.label: f.id for f in settings.fields["test-suites"]}
    assert suite_fields["Description"] == -184
    assert suite_fields["Execution Type"] == -186
    target = _target(settings)
    description = target.field("test-suites", "description")
    assert description is not None
    assert description.id == -184


def test_mapping_and_preflight_use_negative_ids(sim: QTestSimulator) -> None:
    settings = _settings(sim)
    target = _target(settings)
    props = PropertySet("test-suites", target, UserResolver({}, None, target), SourceLookups())
    props.map_value("Execution Type", "Regression")
    props.map_value("Description", "Nightly regression")
    assert props.problems == []
    by_id = {p["field_id"]: p["field_value"] for p in props.properties()}
    assert by_id[-186] == "502"
    assert -184 in by_id
    names = Names.build([settings.field_payloads()], [settings.status_payloads()])
    run_fields = {f.label: f for f in target.fields("test-runs")}
    assert run_fields["Test Data Source"].id == -183
    run = {"name": "Run", "properties": [{"field_id": -183, "field_value": ""}]}
    assert check_entity("test_run", run, target, names) == []
    assert missing_required("test_run", run, target) == []
    wrong = {"name": "Run", "properties": [{"field_id": -183, "field_value": "999"}]}
    issues = check_entity("test_run", wrong, target, names)
    assert [i.code for i in issues] == ["value_not_allowed"]
    assert "'Test Data Source' (id -183)" in issues[0].message
    gone = check_entity("test_run", {"properties": [{"field_id": -999, "field_value": "x"}]}, target, names)
    assert [i.code for i in gone] == ["field_missing"]
    assert "field -999 no longer exists" in gone[0].message


def test_the_client_sends_negative_ids_back(sim: QTestSimulator) -> None:
    async def go() -> Any:
        client = _client(sim)
        try:
            return await client.create_test_suite(
                {"name": "Suite", "properties": [{"field_id": -184, "field_value": "From ztoq"}]}
            )
        finally:
            await client.aclose()

    suite = asyncio.run(go())
    shown = {p.field_id: p.field_value for p in suite.properties or []}
    assert shown[-184] == "From ztoq"
