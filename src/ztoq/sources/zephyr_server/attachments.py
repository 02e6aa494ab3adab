"""Attachments of Zephyr Scale Server/Data Center v1: which objects carry them, how they are read.

Differences from Cloud (:mod:`ztoq.sources.zephyr_cloud.attachments`):

* The list paths are published (:data:`ATTACHMENT_PATHS`), and every Server site has them: no
  probe, and :class:`~ztoq.sources.base.AttachmentsUnavailable` is never raised. A 404 on a
  list means the object is gone (deleted since extract read it): it has none.
* Steps are addressed by their 0-based **index**, not by a step id: a test case step by the
  ``index`` its script gives it, a step result by the ``index`` of its ``scriptResults`` entry
  as served. For a data-driven test case that index runs over rows x steps; the file then
  belongs to step ``index % steps`` (the owner's ``step_index``: the qTest step log it goes to),
  and is still listed (and keyed) by the index served.
* A test run is Server's test cycle; a test result (an execution) is addressed by its id.
* A listed attachment's ``url`` is absolute on the Jira site and is downloaded with the same
  credentials, through the same session; a URL on any other host is refused, so the Jira
  credentials never leave the site. Inline images are fetched the same way when their ``src``
  is on the site (absolute, or site-relative ``/...``).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

from ztoq.errors import FatalApiError, NotFound, safe_path
from ztoq.http import ApiSession
from ztoq.sources.base import AttachmentOwner, Consumer, StoredRows
from ztoq.sources.records import embedded_image_urls, inline_image_id
from ztoq.sources.zephyr_server.client import ATM, seg
from ztoq.sources.zephyr_server.decode import case_shape, indexed, script_steps
from ztoq.store import ListedAttachment
from ztoq.values import int_or_none

#: List path (below the Jira site) of each owner kind; ``{owner}`` is the key (the result id for
#: results), ``{step}`` the step's 0-based index.
ATTACHMENT_PATHS: dict[str, str] = {
    "test_case": f"{ATM}/testcase/{{owner}}/attachments",
    "test_step": f"{ATM}/testcase/{{owner}}/step/{{step}}/attachments",
    "test_plan": f"{ATM}/testplan/{{owner}}/attachments",
    "test_cycle": f"{ATM}/testrun/{{owner}}/attachments",
    "test_execution": f"{ATM}/testresult/{{owner}}/attachments",
    "execution_step": f"{ATM}/testresult/{{owner}}/step/{{step}}/attachments",
}

#: Where the server serves an attachment's content, for a listed item without a ``url``
#: (the form its ``url`` members take).
_CONTENT_PATH = "rest/tests/1.0/attachment/{id}"

#: Stored row type, owner kind of its inline images, and the rich-text members that may embed them.
_RICH_TEXT: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("test_case", "test_case", ("objective", "precondition")),
    ("test_plan", "test_plan", ("objective",)),
    ("test_cycle", "test_cycle", ("description",)),
    ("test_execution", "test_execution", ("comment",)),
)
#: Owner kinds that are steps (addressed by their index as served, below their parent).
_STEP_OWNERS = frozenset({"test_step", "execution_step"})

#: Rich-text members of a test case step and of a step result.
_STEP_TEXT = ("description", "testData", "expectedResult")
_RESULT_STEP_TEXT = ("comment",)


def list_path(owner_type: str, owner: str | int, step: int | None = None) -> str:
    """The list path of an object's attachments (see :data:`ATTACHMENT_PATHS`)."""
    return ATTACHMENT_PATHS[owner_type].format(owner=seg(owner), step="" if step is None else int(step))


def attachment_key(owner: AttachmentOwner, attachment_id: str) -> str:
    """How ztoq keys one attachment: ``test_step/DC-T1/2/88`` (owner kind, owner, step as served, id)."""
    step = f"/{owner.address}" if owner.owner_type in _STEP_OWNERS else ""
    return f"{owner.owner_type}/{owner.owner_key}{step}/{attachment_id}"


def guess_content_type(name: str) -> str | None:
    """The MIME type a file name suggests, or None."""
    return mimetypes.guess_type(name, strict=False)[0]


def guess_name(url: str) -> str:
    """A file name for a URL: its last path segment, decoded."""
    return unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) or "image"


def absolute(site: str, url: str) -> str:
    """``url`` made absolute: a site-relative ``/...`` is resolved against the site's host."""
    return urljoin(site + "/", url) if url.startswith("/") and not url.startswith("//") else url


def site_path(site: str, url: str) -> str | None:
    """The path (and query) of ``url`` below the Jira ``site``; None when it is not on the site."""
    target = urlsplit(absolute(site, url))
    base = urlsplit(site)
    if (target.scheme.lower(), target.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        return None
    prefix = base.path.rstrip("/") + "/"
    if not target.path.startswith(prefix):
        return None
    rest = target.path[len(prefix) :]
    return f"{rest}?{target.query}" if target.query else rest


def _step_results(raw: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """``(index as served, object)`` of the step results of a stored test result."""
    return indexed(raw.get("scriptResults")) if isinstance(raw, Mapping) else []


class ZephyrServerAttachments:
    """The :class:`~ztoq.sources.base.AttachmentReader` of Zephyr Scale Server/Data Center v1."""

    def __init__(self, session: ApiSession) -> None:
        """Send the attachment calls through ``session`` (the Zephyr client's, based on the Jira site)."""
        self.session = session

    @property
    def site(self) -> str:
        """The Jira site URL every call and download is relative to."""
        return self.session.base_url.rstrip("/")

    def owners(self, rows: StoredRows) -> Iterator[AttachmentOwner]:
        """Test cases and their steps, test plans, test runs, test results and their step results."""
        for key, case in rows.payloads("test_case"):
            yield AttachmentOwner("test_case", key, address=key)
            if isinstance(case, Mapping):
                for index, _ in script_steps(case):
                    yield AttachmentOwner("test_step", key, index, address=str(index), parent_address=key)
        for entity_type in ("test_plan", "test_cycle"):
            for key, _ in rows.payloads(entity_type):
                yield AttachmentOwner(entity_type, key, address=key)
        # The shapes of each batch's test cases are read by key: nothing held per test case.
        for batch in rows.batches("test_execution"):
            yield from self._result_owners(rows, batch)

    @staticmethod
    def _result_owners(rows: StoredRows, batch: Sequence[tuple[str, Any]]) -> Iterator[AttachmentOwner]:
        """The owners of a batch of test results: each result, then its step results."""
        case_keys = {str(r.get("testCaseKey")) for _, r in batch if isinstance(r, Mapping)}
        shapes = {
            str(case.get("key")): case_shape(case)
            for case in rows.payloads_for("test_case", case_keys).values()
            if isinstance(case, Mapping)
        }
        for key, result in batch:
            ident = int_or_none(result.get("id")) if isinstance(result, Mapping) else None
            address = key if ident is None else str(ident)
            yield AttachmentOwner("test_execution", key, address=address)
            case_key = str(result.get("testCaseKey")) if isinstance(result, Mapping) else ""
            steps, data_rows = shapes.get(case_key, (0, 0))
            for index, _ in _step_results(result):
                # A data-driven test case's step results run over rows x steps: the file belongs
                # to step ``index % steps`` (what qTest's step log is), listed by the index served.
                step = index % steps if steps and data_rows else index
                yield AttachmentOwner("execution_step", key, step, address=str(index), parent_address=address)

    def inline_images(
        self, rows: StoredRows, owner_types: Collection[str] | None = None
    ) -> Iterator[ListedAttachment]:
        """Images embedded in rich text whose ``src`` is on the Jira site (absolute or ``/...``).

        Each is an attachment of the entity whose text (or whose step's text) embeds it. The
        credentials are never sent anywhere else: an image on another host is left to mapping,
        which keeps a visible reference to it.
        """
        for entity_type, owner_type, members in _RICH_TEXT:
            if owner_types is not None and owner_type not in owner_types:
                continue
            for key, payload in rows.payloads(entity_type):
                if not isinstance(payload, Mapping):
                    continue
                seen: set[str] = set()
                for url in self._image_urls(payload, members):
                    if url in seen or site_path(self.site, url) is None:
                        continue
                    seen.add(url)
                    ident = inline_image_id(url)
                    name = guess_name(url)
                    yield ListedAttachment(
                        source_key=f"{owner_type}/{key}/{ident}",
                        owner_type=owner_type,
                        owner_key=key,
                        step_index=None,
                        source_id=ident,
                        name=name,
                        size=None,
                        content_type=guess_content_type(name),
                        locator=absolute(self.site, url),
                    )

    @staticmethod
    def _image_urls(payload: Mapping[str, Any], members: tuple[str, ...]) -> Iterator[str]:
        texts = [payload.get(member) for member in members]
        texts += [step.get(m) for _, step in script_steps(payload) for m in _STEP_TEXT]
        texts += [step.get(m) for _, step in _step_results(payload) for m in _RESULT_STEP_TEXT]
        for text in texts:
            if isinstance(text, str):
                yield from embedded_image_urls(text)

    async def list(self, owner: AttachmentOwner) -> list[ListedAttachment]:
        """The attachments of one object; a 404 (the object is gone) means none."""
        if owner.owner_type in _STEP_OWNERS:  # a step: its index as served, below its parent
            path = list_path(owner.owner_type, owner.parent_address, int(owner.address))
        else:
            path = list_path(owner.owner_type, owner.address)
        try:
            answer = await self.session.get_json(path)
        except NotFound:
            return []
        listed = []
        for item in answer if isinstance(answer, list) else ():
            ident = int_or_none(item.get("id")) if isinstance(item, Mapping) else None
            if ident is None:
                continue
            name = str(item.get("fileName") or f"attachment-{ident}")
            url = item.get("url")
            locator = url if isinstance(url, str) and url else f"{self.site}/{_CONTENT_PATH.format(id=ident)}"
            served_type = item.get("contentType")
            content_type = served_type if isinstance(served_type, str) and served_type else None
            listed.append(
                ListedAttachment(
                    source_key=attachment_key(owner, str(ident)),
                    owner_type=owner.owner_type,
                    owner_key=owner.owner_key,
                    step_index=owner.step_index,
                    source_id=str(ident),
                    name=name,
                    size=int_or_none(item.get("fileSize")),
                    content_type=content_type or guess_content_type(name),
                    locator=locator,
                )
            )
        return listed

    async def download(self, locator: str, consume: Consumer) -> None:
        """Stream one attachment's content from its URL on the Jira site.

        Raises:
            FatalApiError: ``locator`` is not on the Jira site (the credentials are not sent there).
        """
        path = site_path(self.site, locator)
        if path is None:
            raise FatalApiError(
                f"Zephyr attachment {safe_path(locator)} is not on the Jira site {safe_path(self.site)}; "
                "it was not downloaded, so that the Jira credentials are never sent to another host.",
                api="Zephyr",
            )
        # The query goes as parameters: the session builds the URL from the path and its params.
        path, _, query = path.partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True)) if query else None
        await self.session.download(path, consume, params)
