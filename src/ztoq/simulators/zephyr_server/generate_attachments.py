"""The generated Server project's attachments: the dataset's ``attachments`` section.

About 15% of test cases, 5% of their steps, a quarter of test plans and runs, 10% of test results
and 2% of result steps get one to three small sample files (PNG, PDF, text, ZIP, an empty file;
``attachment_content.sample_files``), stored base64 in ``content``. The first owners of each kind
get scripted ones, so even a small project has a 0-byte file, names with spaces and in several
scripts (``résumé 测试 ✓.txt``), a 250-character name and the same name twice on one owner. Large
files (``content`` null: ``fileSize`` bytes generated from ``seed``, over qTest's 50 MB limit by
default) are spread over test cases, runs, results and plans on request, never held in memory.

Attachments draw from their own random generator, seeded from the dataset's seed, so the rest of
the dataset is the same with or without them.
"""

from __future__ import annotations

import base64
import random
from typing import Any

from ztoq.simulators.zephyr.attachment_content import SampleFile, sample_files
from ztoq.simulators.zephyr.generate_attachments import LONG_NAME, UNICODE_NAME

Entity = dict[str, Any]
#: An owner of attachments: its key (a result's id as text) and a step index, or None.
#: Small files carry their bytes (base64) and seed 0; large ones null content and a seed.
Owner = tuple[str, int | None]

#: The default size of a large attachment: just over qTest SaaS's 50 MB limit per file.
LARGE_ATTACHMENT_SIZE = 51 * 1024 * 1024
FIRST_ATTACHMENT_ID = 501
#: The share of each owner kind that gets small attachments.
SHARES = {
    "testcase": 0.15,
    "testcaseStep": 0.05,
    "testplan": 0.25,
    "testrun": 0.25,
    "testresult": 0.1,
    "testresultStep": 0.02,
}
#: Large files go to these owner kinds in turn.
LARGE_OWNER_TYPES = ("testcase", "testrun", "testresult", "testplan")
_FILE_COUNTS, _FILE_COUNT_WEIGHTS = (1, 2, 3), (75, 20, 5)
_SAMPLE_WEIGHTS = (22, 14, 16, 18, 8, 10, 2)  # same order as sample_files()


def generate_server_attachments(
    dataset: dict[str, Any],
    seed: int,
    *,
    small: bool = True,
    large: int = 0,
    large_size: int = LARGE_ATTACHMENT_SIZE,
) -> list[Entity]:
    """The ``attachments`` section for a generated dataset (its other sections are already built).

    Args:
        dataset: The generated dataset (read only).
        seed: The dataset's seed; attachments use a random generator of their own derived from it.
        small: Attach the small sample files (scripted ones and the random share).
        large: How many large files to attach.
        large_size: The size in bytes of each large file.
    """
    generator = _AttachmentGenerator(dataset, seed)
    if small:
        generator.scripted()
        generator.random_share()
    generator.large(large, large_size)
    return generator.entries


def attachment_owners(dataset: dict[str, Any]) -> dict[str, list[Owner]]:
    """Every possible owner of an attachment in a dataset, by owner type, in dataset order.

    Test case steps are the steps with texts (a call-to-test step has no attachments of its own);
    result steps are the ``scriptResults`` indexes.
    """
    cases = dataset.get("testCases", [])
    results = dataset.get("testResults", [])
    return {
        "testcase": [(c["key"], None) for c in cases],
        "testcaseStep": [
            (c["key"], s["index"])
            for c in cases
            for s in c.get("testScript", {}).get("steps", [])
            if "testCaseKey" not in s
        ],
        "testplan": [(p["key"], None) for p in dataset.get("testPlans", [])],
        "testrun": [(r["key"], None) for r in dataset.get("testRuns", [])],
        "testresult": [(str(r["id"]), None) for r in results],
        "testresultStep": [(str(r["id"]), s["index"]) for r in results for s in r.get("scriptResults", [])],
    }


class _AttachmentGenerator:
    def __init__(self, dataset: dict[str, Any], seed: int) -> None:
        self.owners = attachment_owners(dataset)
        self.rng = random.Random(f"ztoq-zephyr-server-attachments/{seed}")
        self.large_rng = random.Random(f"ztoq-zephyr-server-large-attachments/{seed}")
        self.entries: list[Entity] = []
        self.samples = sample_files()
        # One base64 string per sample file: every entry with that content shares it.
        self.encoded = {sample: base64.b64encode(sample.content).decode("ascii") for sample in self.samples}

    def add(self, owner_type: str, owner: Owner, sample: SampleFile, name: str) -> None:
        self._append(
            owner_type, owner, name, sample.content_type, len(sample.content), self.encoded[sample], 0
        )

    def _append(
        self,
        owner_type: str,
        owner: Owner,
        name: str,
        content_type: str,
        size: int,
        content: str | None,
        seed: int,
    ) -> None:
        self.entries.append(
            {
                "id": FIRST_ATTACHMENT_ID + len(self.entries),
                "ownerType": owner_type,
                "ownerKey": owner[0],
                "stepIndex": owner[1],
                "fileName": name,
                "contentType": content_type,
                "fileSize": size,
                "content": content,
                "seed": seed,
            }
        )

    def _first(self, owner_type: str, skip: int = 0) -> Owner | None:
        owners = self.owners[owner_type]
        return owners[skip] if len(owners) > skip else None

    def scripted(self) -> None:
        """Every edge case on the first owners, whatever the dice say."""
        png, failure_png, pdf, log, _long_log, archive, empty = self.samples
        if case := self._first("testcase"):
            self.add("testcase", case, png, "screenshot 1.png")
            self.add("testcase", case, png, "Screen Shot 2024-03-01.png")
            self.add("testcase", case, log, UNICODE_NAME)
        if step := self._first("testcaseStep"):
            self.add("testcaseStep", step, png, "expected-layout.png")
        if plan := self._first("testplan"):
            self.add("testplan", plan, pdf, "sign-off.pdf")
        if run := self._first("testrun"):
            self.add("testrun", run, pdf, "test-evidence.pdf")
            self.add("testrun", run, archive, "logs.zip")
            self.add("testrun", run, pdf, "test-evidence.pdf")  # uploaded twice: two attachments
        if result := self._first("testresult"):
            self.add("testresult", result, empty, "empty-output.log")
            self.add("testresult", result, failure_png, LONG_NAME)
        if result_step := self._first("testresultStep"):
            self.add("testresultStep", result_step, failure_png, "failure.png")

    def random_share(self) -> None:
        """One to three sample files on the share of each owner type given by ``SHARES``."""
        rng = self.rng
        for owner_type, share in SHARES.items():
            for owner in self.owners[owner_type]:
                if rng.random() >= share:
                    continue
                for _ in range(rng.choices(_FILE_COUNTS, _FILE_COUNT_WEIGHTS)[0]):
                    sample = rng.choices(self.samples, _SAMPLE_WEIGHTS)[0]
                    self.add(owner_type, owner, sample, rng.choice(sample.names))

    def large(self, count: int, size: int) -> None:
        """``count`` large files of ``size`` bytes with generated content, over the owner types in turn."""
        kinds = [kind for kind in LARGE_OWNER_TYPES if self.owners[kind]]
        if not kinds:
            return
        for index in range(count):
            kind = kinds[index % len(kinds)]
            pool = self.owners[kind]
            owner = pool[(index // len(kinds)) % len(pool)]
            name, seed = f"screen recording {index + 1}.mp4", self.large_rng.randrange(2**31)
            self._append(kind, owner, name, "video/mp4", size, None, seed)
