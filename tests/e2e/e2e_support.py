"""End-to-end helpers: both simulators served on loopback, and a config written for them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.snapshot import qtest_snapshot
from ztoq.simulators.zephyr import ZephyrSimulator


@dataclass
class Served:
    """Both simulators served on loopback, with a config file for them."""

    zephyr: ZephyrSimulator
    qtest: QTestSimulator
    zephyr_url: str
    qtest_url: str
    project_id: int
    workdir: Path
    dataset: dict[str, Any]

    def config(self, database: dict[str, Any] | None = None, **changes: Any) -> Path:
        """Write a config for these simulators (``changes`` deep-merged per section) and return its path."""
        data = simulator_config(self.zephyr_url, self.qtest_url, self.project_id, self.workdir, max_workers=4)
        # Listing attachments costs a request per object and step: only the tests about them
        # (test_e2e_attachments.py, the kill harness) turn it on, to keep the suite fast.
        data["migration"] = {"include_attachments": False}
        if database is not None:
            data["database"] = database
        for section, values in changes.items():
            if isinstance(values, dict) and isinstance(data.get(section), dict):
                data[section] = {**data[section], **values}
            else:
                data[section] = values
        return write_config(data, self.workdir / "config.yaml")

    def qtest_api(self) -> httpx.Client:
        """A client of the qTest simulator's API (to read back what arrived)."""
        return httpx.Client(
            base_url=f"{self.qtest_url}/api/v3/projects/{self.project_id}",
            headers={"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"},
            timeout=30,
        )


def serve(tmp_path: Path, dataset: dict[str, Any]) -> Iterator[Served]:
    zephyr = ZephyrSimulator(dataset)
    qtest = QTestSimulator.generated()
    with serve_in_thread(zephyr.app) as zurl, serve_in_thread(qtest.app) as qurl:
        project = httpx.get(
            f"{qurl}/api/v3/projects", headers={"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        ).json()[0]["id"]
        yield Served(zephyr, qtest, zurl, qurl, int(project), tmp_path, dataset)


__all__ = ["Served", "qtest_snapshot", "serve"]
