"""The generated project's attachments: the dataset's ``attachments`` section.

About 20% of test cases, 10% of test case steps, 30% of test cycles and plans, 20% of executions
and 10% of execution steps get one to three small files (PNG, PDF, text, ZIP: a few hundred bytes
to a few KB, valid-looking), picked from a handful of sample files, so the same content sits on
many entities. The first entities of each kind get scripted ones, so even a small project has a
0-byte file, a name in several scripts (``résumé 测试 ✓.txt``), a 250-character name, the same
name twice on one entity and the same content on several kinds. Large files (``generated``
content, over qTest's 50 MB limit by default) are added on request, never held in memory.

Attachments draw from their own random generator, seeded from the dataset's seed, so the rest of
the dataset is the same with or without them.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from typing import Any

from ztoq.simulators.zephyr.attachment_content import SampleFile, sample_files

Entity = dict[str, Any]

#: The default size of a large attachment: just over qTest SaaS's 50 MB limit per file.
LARGE_ATTACHMENT_SIZE = 51 * 1024 * 1024
FIRST_ATTACHMENT_ID = 800001
#: The share of each owner kind that gets attachments.
SHARES = {
    "testcase": 0.2,
    "teststep": 0.1,
    "testcycle": 0.3,
    "testplan": 0.3,
    "testexecution": 0.2,
    "executionstep": 0.1,
}
#: A name in several scripts, and one of 250 characters (the limit is 255).
UNICODE_NAME = "résumé 测试 ✓.txt"
LONG_NAME = (
    "Screenshot of the checkout page after submitting an order with an expired card on staging, "
    "taken during the 2024 regression run before and after the fix of the payment timeout, "
    "with the browser console open and the network tab showing the failed request"
)[:246] + ".png"
#: How many files an entity that gets attachments gets, and how often.
_FILE_COUNTS, _FILE_COUNT_WEIGHTS = (1, 2, 3), (75, 20, 5)
#: How often each sample file is picked (same order as ``sample_files()``).
_SAMPLE_WEIGHTS = (22, 14, 16, 18, 8, 10, 2)


def generate_attachments(
    dataset: dict[str, Any],
    seed: int,
    *,
    small: bool = True,
    large: int = 0,
    large_size: int = LARGE_ATTACHMENT_SIZE,
) -> list[Entity]:
    """The ``attachments`` section for a generated dataset (its entities are already built).

    Args:
        dataset: The generated dataset (read only).
        seed: The dataset's seed; attachments use a random generator of their own derived from it.
        small: Attach the small sample files (scripted ones and the random share).
        large: How many large files to attach (to test cases and executions, in turn).
        large_size: The size in bytes of each large file.
    """
    generator = _AttachmentGenerator(dataset, seed)
    if small:
        generator.scripted()
        generator.random_share()
    generator.large(large, large_size)
    return generator.entries


class _AttachmentGenerator:
    def __init__(self, dataset: dict[str, Any], seed: int) -> None:
        self.data = dataset
        self.rng = random.Random(f"ztoq-zephyr-attachments/{seed}")
        self.large_rng = random.Random(f"ztoq-zephyr-large-attachments/{seed}")
        self.entries: list[Entity] = []
        self.samples = sample_files()
        # One base64 string per sample file: every entry with that content shares it.
        self.encoded = {sample: base64.b64encode(sample.content).decode("ascii") for sample in self.samples}

    def add(
        self, owner: str, owner_key: str, sample: SampleFile, name: str, step_index: int | None = None
    ) -> None:
        entry: Entity = {"id": FIRST_ATTACHMENT_ID + len(self.entries), "owner": owner, "ownerKey": owner_key}
        if step_index is not None:
            entry["stepIndex"] = step_index
        entry.update(name=name, contentType=sample.content_type, content=self.encoded[sample])
        self.entries.append(entry)

    # -- the owners, in dataset order ---------------------------------------------------------------------

    def _keys(self, name: str) -> list[str]:
        return [str(e["key"]) for e in self.data.get(name, []) if isinstance(e.get("key"), str)]

    def _case_steps(self) -> Iterator[tuple[str, int]]:
        for key, steps in self.data.get("teststeps", {}).items():
            for index in range(len(steps)):
                yield str(key), index

    def _execution_steps(self) -> Iterator[tuple[str, int]]:
        steps = self.data.get("executionsteps", {})
        for execution in self.data.get("testexecutions", []):
            for index in range(len(steps.get(str(execution["id"]), []))):
                yield str(execution["key"]), index

    # -- what is attached --------------------------------------------------------------------------------

    def scripted(self) -> None:
        """Every edge case on the first entities, whatever the dice say."""
        png, failure_png, pdf, log, _long_log, archive, empty = self.samples
        cases, cycles = self._keys("testcases"), self._keys("testcycles")
        plans, executions = self._keys("testplans"), self._keys("testexecutions")
        if cases:
            self.add("testcase", cases[0], png, "screenshot.png")
            self.add("testcase", cases[0], log, UNICODE_NAME)
        first_step = next(self._case_steps(), None)
        if first_step is not None:
            self.add("teststep", first_step[0], png, "expected-layout.png", first_step[1])
        if cycles:
            self.add("testcycle", cycles[0], pdf, "test-evidence.pdf")
            self.add("testcycle", cycles[0], archive, "logs.zip")
            self.add("testcycle", cycles[0], pdf, "test-evidence.pdf")  # uploaded twice: two attachments
        if plans:
            self.add("testplan", plans[0], pdf, "sign-off.pdf")
        if executions:
            self.add("testexecution", executions[0], empty, "empty-output.log")
            self.add("testexecution", executions[0], failure_png, LONG_NAME)
        first_run_step = next(self._execution_steps(), None)
        if first_run_step is not None:
            self.add("executionstep", first_run_step[0], failure_png, "failure.png", first_run_step[1])

    def random_share(self) -> None:
        """One to three sample files on the share of each owner kind given by ``SHARES``."""
        owners: list[tuple[str, Iterator[tuple[str, int | None]]]] = [
            ("testcase", ((key, None) for key in self._keys("testcases"))),
            ("teststep", ((key, index) for key, index in self._case_steps())),
            ("testcycle", ((key, None) for key in self._keys("testcycles"))),
            ("testplan", ((key, None) for key in self._keys("testplans"))),
            ("testexecution", ((key, None) for key in self._keys("testexecutions"))),
            ("executionstep", ((key, index) for key, index in self._execution_steps())),
        ]
        rng = self.rng
        for owner, entities in owners:
            share = SHARES[owner]
            for key, step_index in entities:
                if rng.random() >= share:
                    continue
                for _ in range(rng.choices(_FILE_COUNTS, _FILE_COUNT_WEIGHTS)[0]):
                    sample = rng.choices(self.samples, _SAMPLE_WEIGHTS)[0]
                    self.add(owner, key, sample, rng.choice(sample.names), step_index)

    def large(self, count: int, size: int) -> None:
        """``count`` large files of ``size`` bytes: generated content, on test cases and executions."""
        cases = [("testcase", k) for k in self._keys("testcases")]
        executions = [("testexecution", k) for k in self._keys("testexecutions")]
        for index in range(count):
            # Test cases and executions in turn (one kind alone when the other has none).
            pool = (cases, executions)[index % 2] or cases or executions
            if not pool:
                return
            owner, key = pool[(index // 2) % len(pool)]
            self.entries.append(
                {
                    "id": FIRST_ATTACHMENT_ID + len(self.entries),
                    "owner": owner,
                    "ownerKey": key,
                    "name": f"screen-recording-{index + 1}.mp4",
                    "contentType": "video/mp4",
                    "generated": {"size": size, "seed": self.large_rng.randrange(2**31)},
                }
            )
