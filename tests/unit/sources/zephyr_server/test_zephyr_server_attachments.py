"""Zephyr Server attachments: owners, v1 list paths, downloads kept on the Jira site, inline images."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from zephyr_server_wire import SITE, FakeSite, Rows, stored

from ztoq.errors import FatalApiError
from ztoq.http import ApiSession
from ztoq.sources.base import AttachmentOwner, AttachmentReader
from ztoq.sources.records import inline_image_id
from ztoq.sources.zephyr_server.attachments import (
    ATTACHMENT_PATHS,
    ZephyrServerAttachments,
    list_path,
    site_path,
)

TOKEN = "pat-0123456789"


def reader(site: FakeSite, base: str = SITE) -> ZephyrServerAttachments:
    client = httpx.AsyncClient(transport=site.transport())
    session = ApiSession(
        client, api_name="Zephyr", base_url=base, auth=lambda: f"Bearer {TOKEN}", owns_client=True
    )
    return ZephyrServerAttachments(session)


def test_every_owner_kind_has_its_v1_list_path() -> None:
    assert set(ATTACHMENT_PATHS) == {
        "test_case",
        "test_step",
        "test_plan",
        "test_cycle",
        "test_execution",
        "execution_step",
    }
    assert list_path("test_step", "DC-T1", 2) == "rest/atm/1.0/testcase/DC-T1/step/2/attachments"
    assert list_path("test_cycle", "DC-C1") == "rest/atm/1.0/testrun/DC-C1/attachments"
    assert list_path("execution_step", "5123", 0) == "rest/atm/1.0/testresult/5123/step/0/attachments"
    assert list_path("test_case", "a/b") == "rest/atm/1.0/testcase/a%2Fb/attachments"


def test_owners_are_every_stored_object_and_step() -> None:
    found: AttachmentReader = reader(FakeSite())
    owners = [
        (o.owner_type, o.owner_key, o.step_index, o.address, o.parent_address) for o in found.owners(stored())
    ]
    assert owners == [
        ("test_case", "DC-T12", None, "DC-T12", ""),
        ("test_step", "DC-T12", 0, "0", "DC-T12"),
        ("test_step", "DC-T12", 1, "1", "DC-T12"),
        ("test_case", "DC-T3", None, "DC-T3", ""),
        ("test_case", "DC-T4", None, "DC-T4", ""),
        ("test_plan", "DC-P1", None, "DC-P1", ""),
        ("test_cycle", "DC-C1", None, "DC-C1", ""),
        ("test_cycle", "DC-C4", None, "DC-C4", ""),
        ("test_execution", "5123", None, "5123", ""),
        # DC-T12 is data-driven (2 steps x 2 rows): step results are listed by the index served
        # (the address) and belong to step ``index % 2`` (the qTest step log they go to).
        ("execution_step", "5123", 0, "0", "5123"),
        ("execution_step", "5123", 1, "1", "5123"),
        ("execution_step", "5123", 0, "2", "5123"),
        ("execution_step", "5123", 1, "3", "5123"),
        ("test_execution", "5124", None, "5124", ""),
    ]


def _item(ident: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "fileName": "screenshot 1.png",
        "fileSize": 20480,
        "contentType": "image/png",
        "url": f"{SITE}/rest/tests/1.0/attachment/{ident}",
        **extra,
    }


def test_a_list_gives_keyed_attachments_and_a_gone_object_has_none() -> None:
    site = FakeSite()
    site.attachments["/testresult/5123/step/3/attachments"] = [_item(88), {"fileName": "no id"}]
    site.attachments["/testcase/DC-T12/attachments"] = [{"id": 9, "fileName": "notes.txt"}]
    attachments = reader(site)

    async def listed() -> tuple[Any, ...]:
        return (
            await attachments.list(AttachmentOwner("execution_step", "5123", 1, "3", "5123")),
            await attachments.list(AttachmentOwner("test_case", "DC-T12", address="DC-T12")),
            await attachments.list(AttachmentOwner("test_plan", "DC-P9", address="DC-P9")),
        )

    [step], [case], gone = asyncio.run(listed())
    assert (step.source_key, step.owner_type, step.owner_key, step.step_index, step.source_id) == (
        "execution_step/5123/3/88",
        "execution_step",
        "5123",
        1,
        "88",
    )
    assert (step.name, step.size, step.content_type, step.locator) == (
        "screenshot 1.png",
        20480,
        "image/png",
        f"{SITE}/rest/tests/1.0/attachment/88",
    )
    assert (case.source_key, case.content_type, case.size) == ("test_case/DC-T12/9", "text/plain", None)
    assert case.locator == f"{SITE}/rest/tests/1.0/attachment/9"
    assert gone == []


def test_a_download_stays_on_the_site_with_the_same_credentials() -> None:
    site = FakeSite()
    site.files["/jira/rest/tests/1.0/attachment/88"] = b"\x89PNG"
    attachments = reader(site, f"{SITE}/jira")
    received: list[bytes] = []

    async def consume(response: httpx.Response) -> None:
        received[:] = [b"".join([chunk async for chunk in response.aiter_bytes()])]

    asyncio.run(attachments.download(f"{SITE}/jira/rest/tests/1.0/attachment/88", consume))
    assert received == [b"\x89PNG"]
    assert site.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    asyncio.run(attachments.download("/jira/rest/tests/1.0/attachment/88?version=2", consume))
    assert str(site.requests[1].url) == f"{SITE}/jira/rest/tests/1.0/attachment/88?version=2"
    for elsewhere in ("https://evil.example.com/jira/rest/tests/1.0/attachment/88", f"{SITE}/other/file.png"):
        with pytest.raises(FatalApiError, match="never sent to another host"):
            asyncio.run(attachments.download(elsewhere, consume))
    assert len(site.requests) == 2


@pytest.mark.parametrize(
    ("url", "path"),
    [
        (f"{SITE}/secure/attachment/5/a.png", "secure/attachment/5/a.png"),
        ("/secure/attachment/5/a.png", "secure/attachment/5/a.png"),
        ("HTTPS://JIRA.example.com/x?version=2", "x?version=2"),
        ("http://jira.example.com/x", None),
        ("//jira.example.com/x", None),
        ("https://jira.example.com.evil.net/x", None),
        ("data:image/png;base64,AAAA", None),
    ],
)
def test_site_paths(url: str, path: str | None) -> None:
    assert site_path(SITE, url) == path


def test_inline_images_on_the_site_are_attachments_of_their_entity() -> None:
    images = list(reader(FakeSite()).inline_images(stored()))
    found = [(i.owner_type, i.owner_key, i.name, i.locator) for i in images]
    assert found == [
        ("test_case", "DC-T12", "diagram.png", f"{SITE}/secure/attachment/5/diagram.png"),
        ("test_case", "DC-T12", "step.png", f"{SITE}/secure/attachment/6/step.png"),
        ("test_execution", "5123", "crash.png", f"{SITE}/secure/attachment/7/crash.png"),
    ]
    step = images[1]
    assert step.source_id == inline_image_id("/secure/attachment/6/step.png")
    assert (step.source_key, step.step_index, step.content_type) == (
        f"test_case/DC-T12/{step.source_id}",
        None,
        "image/png",
    )


def test_inline_images_in_step_results_and_run_descriptions() -> None:
    image = '<img src="/secure/attachment/8/s.png">'
    rows = Rows(
        test_cycle=[("DC-C1", {"key": "DC-C1", "description": image})],
        test_execution=[("1", {"id": 1, "scriptResults": [{"index": 0, "comment": image + image}]})],
    )
    found = [(i.owner_type, i.owner_key) for i in reader(FakeSite()).inline_images(rows)]
    assert found == [("test_cycle", "DC-C1"), ("test_execution", "1")]  # once per entity
