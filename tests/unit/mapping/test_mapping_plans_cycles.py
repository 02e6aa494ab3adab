"""Zephyr test plans -> releases, test cycles -> test cycles (ztoq.mapping.releases / cycles)."""

from __future__ import annotations

from typing import Any

import mapping_builders as mb
from mapping_builders import codes

from ztoq.mapping.base import ref
from ztoq.mapping.cycles import plan_adhoc_cycle, plan_test_cycle, plan_test_cycles
from ztoq.mapping.releases import plan_release, plan_releases
from ztoq.mapping.text import find_source_key
from ztoq.vendor import QTEST_DATE_TIME, QTEST_TEXT


def zephyr_plan(key: str = "PROJ-P1", **more: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": 900,
        "key": key,
        "name": "Release 1.0 plan",
        "objective": "Ship <b>1.0</b>",
        "project": {"id": 10005},
        "status": {"id": 2},
        "folder": {"id": 101},
        "owner": {"accountId": mb.ADA},
        "customFields": {"Release Train": "RT-5"},
        "labels": ["q1"],
        "links": {"webLinks": [], "issues": [], "testCycles": []},
    }
    raw.update(more)
    return raw


def zephyr_cycle(key: str = "PROJ-R1", **more: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": 300,
        "key": key,
        "name": "Sprint 1 Regression",
        "project": {"id": 10005},
        "status": {"id": 21},
        "description": "Regression test cycle 1",
        "plannedStartDate": "2018-05-19T13:15:13Z",
        "plannedEndDate": "2018-05-20T13:15:13Z",
        "owner": {"accountId": mb.GRACE},
        "customFields": {"Sprint": "S-1", "Build": "1.0.3"},
        "links": {"issues": [], "webLinks": [], "testPlans": []},
    }
    raw.update(more)
    return raw


def test_plan_becomes_a_release() -> None:
    planned = plan_release(mb.plan(zephyr_plan()), mb.lookups(), mb.target(), mb.config())
    assert (planned.entity_type, planned.source_key) == ("release", "PROJ-P1")
    assert planned.body is not None
    assert planned.body["name"] == "Release 1.0 plan"
    description = planned.body["description"]
    assert description.startswith("Ship <b>1.0</b><br>")
    assert find_source_key(description) == "PROJ-P1"
    for row in (
        "<td>Status</td><td>Approved</td>",
        f"<td>Owner</td><td>Ada Lovelace ({mb.ADA})</td>",
        "<td>Labels</td><td>q1</td>",
        "<td>Folder</td><td>Login/Sub</td>",
        "<td>Release Train</td><td>RT-5</td>",
    ):
        assert row in description
    # The release Status has no "Approved": defaulted to "Planned".
    assert planned.body["properties"] == [{"field_id": 901, "field_value": "911"}]
    assert "status_defaulted" in codes(planned)
    assert planned.depends_on == []


def test_plan_status_mapped_and_custom_field_mapped() -> None:
    fields = mb.target(
        releases=[
            mb.qfield(901, "Status", 3, mb.choice(911, "Planned", default=True), mb.choice(912, "Active")),
            mb.qfield(902, "Train", QTEST_TEXT),
            mb.qfield(903, "Zephyr Key", QTEST_TEXT),
        ]
    )
    config = mb.config(
        mappings={"status": {"Approved": "Active"}}, custom_fields={"test_plan": {"Release Train": "Train"}}
    )
    planned = plan_release(mb.plan(zephyr_plan()), mb.lookups(), fields, config)
    assert planned.body is not None
    props = {p["field_id"]: p["field_value"] for p in planned.body["properties"]}
    assert props == {901: "912", 902: "RT-5", 903: "PROJ-P1"}
    assert "Zephyr key:" not in planned.body["description"]
    assert (
        len(
            plan_releases(
                [mb.plan(zephyr_plan()), mb.plan(zephyr_plan("PROJ-P2"))], mb.lookups(), fields, config
            )
        )
        == 2
    )


def test_plan_without_name_and_with_links() -> None:
    links = {"issues": [{"issueId": 10100, "type": "COVERAGE"}], "webLinks": [{"url": "https://w"}]}
    planned = plan_release(
        mb.plan(zephyr_plan(name=None, links=links)), mb.lookups(), mb.target(), mb.config()
    )
    assert planned.body is not None
    assert planned.body["name"] == "(unnamed PROJ-P1)"
    assert "issue 10100 (COVERAGE)" in planned.body["description"]
    assert '<a href="https://w">https://w</a>' in planned.body["description"]


def cycle_lookups(**more: Any) -> Any:
    params: dict[str, Any] = {
        "folders": [mb.folder(100, "Login"), mb.folder(500, "Sprints", folderType="TEST_CYCLE")],
        "test_plans": [
            {"id": 900, "key": "PROJ-P1", "links": {"testCycles": []}},
            {"id": 901, "key": "PROJ-P2", "links": {"testCycles": [{"id": 1, "testCycleId": 300}]}},
        ],
    }
    return mb.lookups(**{**params, **more})


def test_cycle_linked_to_a_plan_goes_under_its_release() -> None:
    cycle = zephyr_cycle(links={"testPlans": [{"id": 1, "testPlanId": 900, "type": "RELATED"}]}, id=301)
    planned = plan_test_cycle(mb.cycle(cycle), cycle_lookups(), mb.target(), mb.config())
    assert planned.options == {"parent_id": ref("release", "PROJ-P1"), "parent_type": "release"}
    assert planned.depends_on == [("release", "PROJ-P1")]
    assert "multiple_plans" not in codes(planned)


def test_cycle_linked_from_the_plan_side() -> None:
    planned = plan_test_cycle(mb.cycle(zephyr_cycle()), cycle_lookups(), mb.target(), mb.config())
    assert planned.options == {"parent_id": ref("release", "PROJ-P2"), "parent_type": "release"}


def test_cycle_linked_to_several_plans_goes_under_the_first() -> None:
    cycle = zephyr_cycle(links={"testPlans": [{"id": 1, "testPlanId": 900}, {"id": 2, "testPlanId": 404}]})
    planned = plan_test_cycle(mb.cycle(cycle), cycle_lookups(), mb.target(), mb.config())
    assert planned.options["parent_id"] == ref("release", "PROJ-P1")
    # The other plan is named whole (qTest gives a cycle one release); the unknown one is a lost link.
    severities = {p.code: p.severity for p in planned.problems}
    assert (severities["multiple_plans"], severities["unknown_test_plan"]) == ("kept_in_text", "degraded")
    assert planned.body is not None
    assert "<td>Other test plans</td><td>PROJ-P2</td>" in planned.body["description"]
    assert "<td>Unknown test plans</td><td>404</td>" in planned.body["description"]


def test_cycle_without_plan_goes_into_the_folder_tree() -> None:
    lookups = cycle_lookups(test_plans=[])
    in_folder = plan_test_cycle(mb.cycle(zephyr_cycle(folder={"id": 500})), lookups, mb.target(), mb.config())
    assert in_folder.options == {"parent_id": ref("cycle_folder", "500"), "parent_type": "test-cycle"}
    no_folder = plan_test_cycle(mb.cycle(zephyr_cycle()), lookups, mb.target(), mb.config())
    assert no_folder.options == {"parent_id": ref("cycle_folder", "root"), "parent_type": "test-cycle"}
    lost = plan_test_cycle(mb.cycle(zephyr_cycle(folder={"id": 777})), lookups, mb.target(), mb.config())
    assert lost.options["parent_id"] == ref("cycle_folder", "root")
    assert "missing_folder" in codes(lost)


def test_cycle_fields_go_to_the_block_when_qtest_cycles_have_none() -> None:
    planned = plan_test_cycle(
        mb.cycle(zephyr_cycle(jiraProjectVersion={"id": 10000})),
        cycle_lookups(version_names={10000: "v1.0"}),
        mb.target(),
        mb.config(),
    )
    assert planned.body is not None
    assert "properties" not in planned.body
    description = planned.body["description"]
    assert description.startswith("Regression test cycle 1<br>")
    for row in (
        "<td>Planned Start Date</td><td>2018-05-19T13:15:13Z</td>",
        "<td>Planned End Date</td><td>2018-05-20T13:15:13Z</td>",
        f"<td>Owner</td><td>Grace Hopper ({mb.GRACE})</td>",
        "<td>Status</td><td>In Progress</td>",
        "<td>Jira Version</td><td>v1.0</td>",
        "<td>Sprint</td><td>S-1</td>",
        "<td>Build</td><td>1.0.3</td>",
    ):
        assert row in description
    assert find_source_key(description) == "PROJ-R1"


def test_cycle_fields_go_to_qtest_fields_when_present() -> None:
    fields = mb.target(
        test_cycles=[
            mb.qfield(701, "Sprint Number", QTEST_TEXT),
            mb.qfield(702, "Planned Start Date", QTEST_DATE_TIME),
        ]
    )
    config = mb.config(custom_fields={"test_cycle": {"Sprint": "Sprint Number"}})
    planned = plan_test_cycle(mb.cycle(zephyr_cycle()), cycle_lookups(), fields, config)
    assert planned.body is not None
    assert planned.body["properties"] == [
        {"field_id": 702, "field_value": "2018-05-19T13:15:13.000Z"},
        {"field_id": 701, "field_value": "S-1"},
    ]
    assert "<td>Sprint</td>" not in planned.body["description"]
    assert (
        len(
            plan_test_cycles(
                [mb.cycle(zephyr_cycle()), mb.cycle(zephyr_cycle("PROJ-R2"))], cycle_lookups(), fields, config
            )
        )
        == 2
    )


def test_adhoc_cycle() -> None:
    planned = plan_adhoc_cycle(mb.config(qtest={"adhoc_cycle": "Loose runs"}))
    assert (planned.entity_type, planned.source_key) == ("test_cycle", "adhoc")
    assert planned.body is not None
    assert planned.body["name"] == "Loose runs"
    assert planned.options == {"parent_id": ref("cycle_folder", "root"), "parent_type": "test-cycle"}
