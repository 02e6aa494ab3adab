"""The Test Execution side of qTest: releases, test cycles, test suites, test runs and test logs.

A mixin of :class:`ztoq.qtest.client.QTestClient`, kept apart to keep modules short. Lists of
test runs and test logs come in the ``{links, page, page_size, total, items}`` envelope; the
envelope helper walks every page, trusting the page size the server echoes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import BaseModel

from ztoq.errors import FatalApiError, NotFound
from ztoq.http import ApiSession
from ztoq.qtest.models import (
    ManualTestLog,
    QTestModel,
    Release,
    TestCycle,
    TestLog,
    TestRun,
    TestSuite,
    parse,
    parse_list,
)

Json = dict[str, Any]
Body = QTestModel | Mapping[str, Any]


def _wire(body: Body) -> Any:
    return body.to_wire() if isinstance(body, BaseModel) else dict(body)


def _parent(parent_id: int | None, parent_type: str | None) -> dict[str, Any]:
    return {"parentId": parent_id, "parentType": parent_type}


class ExecutionCalls:
    """Releases, test cycles, test suites, test runs and test logs of one project."""

    session: ApiSession
    base: str

    async def _envelope(
        self, method: str, path: str, params: Mapping[str, Any], page_size: int, *, body: Any = None
    ) -> AsyncIterator[Json]:
        """Every item of a paged ``{page, page_size, total, items}`` listing (GET, or POST for search)."""
        page = 1
        previous_first: Any = None
        while True:
            query = {**params, "page": page, "pageSize": page_size}
            if method == "GET":
                raw = await self.session.get_json(path, query)
            else:  # search is a read sent as POST: safe to resend
                raw = await self.session.post_json(path, body, query, retry_unsafe=True)
            envelope = raw if isinstance(raw, dict) else {"items": raw if isinstance(raw, list) else []}
            items = [item for item in envelope.get("items") or [] if isinstance(item, dict)]
            first = items[0].get("id") if items else None
            if first is not None and first == previous_first:
                raise FatalApiError(
                    f"qTest answered page {page} of {path} with page {page - 1} again; stopping.", api="qTest"
                )
            for item in items:
                yield item
            # The server may cap pageSize; its echoed page_size is the real one.
            echoed = envelope.get("page_size")
            size = echoed if isinstance(echoed, int) and echoed > 0 else page_size
            total = envelope.get("total")
            if not items or len(items) < size or (isinstance(total, int) and page * size >= total):
                return
            previous_first = first
            page += 1

    # -- releases -------------------------------------------------------------------------------

    async def create_release(self, body: Body) -> Release:
        """Create a release."""
        return parse(Release, await self.session.post_json(f"{self.base}/releases", _wire(body)))

    async def get_release(self, release_id: int) -> Release:
        """One release."""
        return parse(Release, await self.session.get_json(f"{self.base}/releases/{release_id}"))

    async def list_releases(self, *, include_closed: bool = False) -> list[Release]:
        """Every release of the project."""
        params = {"includeClosed": True} if include_closed else None
        return parse_list(Release, await self.session.get_json(f"{self.base}/releases", params))

    async def update_release(self, release_id: int, body: Body) -> Release:
        """Update a release."""
        return parse(Release, await self.session.put_json(f"{self.base}/releases/{release_id}", _wire(body)))

    async def delete_release(self, release_id: int) -> None:
        """Delete a release."""
        await self.session.delete(f"{self.base}/releases/{release_id}")

    # -- test cycles ----------------------------------------------------------------------------

    async def create_test_cycle(
        self, body: Body, parent_id: int | None = None, parent_type: str | None = None
    ) -> TestCycle:
        """Create a test cycle under the root, a release or another test cycle."""
        path = f"{self.base}/test-cycles"
        return parse(
            TestCycle, await self.session.post_json(path, _wire(body), _parent(parent_id, parent_type))
        )

    async def get_test_cycle(self, test_cycle_id: int, expand: str | None = None) -> TestCycle:
        """One test cycle (``expand="descendants"`` includes its sub-cycles and suites)."""
        path = f"{self.base}/test-cycles/{test_cycle_id}"
        return parse(TestCycle, await self.session.get_json(path, {"expand": expand}))

    async def list_test_cycles(
        self, parent_id: int | None = None, parent_type: str | None = None, expand: str | None = None
    ) -> list[TestCycle]:
        """Test cycles under a parent (None: the root)."""
        params = {**_parent(parent_id, parent_type), "expand": expand}
        return parse_list(TestCycle, await self.session.get_json(f"{self.base}/test-cycles", params))

    async def update_test_cycle(
        self, test_cycle_id: int, body: Body, parent_id: int | None = None, parent_type: str | None = None
    ) -> TestCycle:
        """Update (or move) a test cycle."""
        path = f"{self.base}/test-cycles/{test_cycle_id}"
        return parse(
            TestCycle, await self.session.put_json(path, _wire(body), _parent(parent_id, parent_type))
        )

    async def delete_test_cycle(self, test_cycle_id: int, force: bool = False) -> None:
        """Delete a test cycle (``force`` deletes its content too)."""
        await self.session.delete(f"{self.base}/test-cycles/{test_cycle_id}", {"force": force})

    # -- test suites ----------------------------------------------------------------------------

    async def create_test_suite(
        self, body: Body, parent_id: int | None = None, parent_type: str | None = None
    ) -> TestSuite:
        """Create a test suite under the root, a release or a test cycle."""
        path = f"{self.base}/test-suites"
        return parse(
            TestSuite, await self.session.post_json(path, _wire(body), _parent(parent_id, parent_type))
        )

    async def get_test_suite(self, test_suite_id: int) -> TestSuite:
        """One test suite."""
        return parse(TestSuite, await self.session.get_json(f"{self.base}/test-suites/{test_suite_id}"))

    async def list_test_suites(
        self, parent_id: int | None = None, parent_type: str | None = None
    ) -> list[TestSuite]:
        """Test suites under a parent."""
        path = f"{self.base}/test-suites"
        return parse_list(TestSuite, await self.session.get_json(path, _parent(parent_id, parent_type)))

    async def update_test_suite(
        self, test_suite_id: int, body: Body, parent_id: int | None = None, parent_type: str | None = None
    ) -> TestSuite:
        """Update (or move) a test suite."""
        path = f"{self.base}/test-suites/{test_suite_id}"
        return parse(
            TestSuite, await self.session.put_json(path, _wire(body), _parent(parent_id, parent_type))
        )

    async def delete_test_suite(self, test_suite_id: int) -> None:
        """Delete a test suite."""
        await self.session.delete(f"{self.base}/test-suites/{test_suite_id}")

    # -- test runs ------------------------------------------------------------------------------

    async def create_test_run(
        self, body: Body, parent_id: int | None = None, parent_type: str | None = None
    ) -> TestRun:
        """Create a test run of ``body.test_case`` under a release, cycle or suite."""
        path = f"{self.base}/test-runs"
        return parse(
            TestRun, await self.session.post_json(path, _wire(body), _parent(parent_id, parent_type))
        )

    async def get_test_run(self, test_run_id: int, expand: str | None = None) -> TestRun:
        """One test run."""
        path = f"{self.base}/test-runs/{test_run_id}"
        return parse(TestRun, await self.session.get_json(path, {"expand": expand}))

    async def iter_test_runs(
        self,
        parent_id: int | None = None,
        parent_type: str | None = None,
        expand: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[TestRun]:
        """Every test run under a parent, all pages."""
        params = {**_parent(parent_id, parent_type), "expand": expand}
        async for item in self._envelope("GET", f"{self.base}/test-runs", params, page_size):
            yield parse(TestRun, item)

    async def list_test_runs(
        self,
        parent_id: int | None = None,
        parent_type: str | None = None,
        expand: str | None = None,
        page_size: int = 100,
    ) -> list[TestRun]:
        """Every test run under a parent (all pages of the envelope)."""
        runs = self.iter_test_runs(parent_id, parent_type, expand=expand, page_size=page_size)
        return [run async for run in runs]

    async def update_test_run(
        self, test_run_id: int, body: Body, parent_id: int | None = None, parent_type: str | None = None
    ) -> TestRun:
        """Update (or move) a test run."""
        path = f"{self.base}/test-runs/{test_run_id}"
        return parse(TestRun, await self.session.put_json(path, _wire(body), _parent(parent_id, parent_type)))

    async def delete_test_run(self, test_run_id: int) -> None:
        """Delete a test run."""
        await self.session.delete(f"{self.base}/test-runs/{test_run_id}")

    # -- test logs ------------------------------------------------------------------------------

    async def create_test_log(self, test_run_id: int, body: ManualTestLog | Mapping[str, Any]) -> TestLog:
        """Submit a manual test log (status, dates, note, step logs) to a test run."""
        path = f"{self.base}/test-runs/{test_run_id}/test-logs"
        return parse(TestLog, await self.session.post_json(path, _wire(body)))

    async def update_test_log(
        self, test_run_id: int, test_log_id: int, body: ManualTestLog | Mapping[str, Any]
    ) -> TestLog:
        """Modify a manual test log (status, dates, note, step logs)."""
        path = f"{self.base}/test-runs/{test_run_id}/test-logs/{test_log_id}"
        return parse(TestLog, await self.session.put_json(path, _wire(body)))

    async def get_test_log(self, test_run_id: int, test_log_id: int) -> TestLog:
        """One test log of a test run."""
        path = f"{self.base}/test-runs/{test_run_id}/test-logs/{test_log_id}"
        return parse(TestLog, await self.session.get_json(path))

    async def list_test_logs(self, test_run_id: int, *, page_size: int = 100) -> list[TestLog]:
        """Every test log of a test run (all pages)."""
        path = f"{self.base}/test-runs/{test_run_id}/test-logs"
        return [parse(TestLog, item) async for item in self._envelope("GET", path, {}, page_size)]

    async def last_test_log(self, test_run_id: int, *, expand: str | None = None) -> TestLog | None:
        """The latest test log of a test run, or None when it has none."""
        path = f"{self.base}/test-runs/{test_run_id}/test-logs/last-run"
        try:
            result = await self.session.get_json(path, {"expand": expand})
        except NotFound:
            return None
        return parse(TestLog, result) if isinstance(result, dict) and result else None
