"""A test-only fault hook: kill the process at a named point of the pipeline.

``ZTOQ_TEST_KILL_AT="<point>:<n>"`` makes the n-th arrival at ``point`` send SIGKILL to this
process, exactly as a power cut would stop it there. The crash-safety tests use it to stop a
migration between any two durable steps — for instance between a create request's answer and the
recording of that answer (``load.after_create``) — and prove that the next run ends in exactly
the state of one uninterrupted run. Unset (always, outside those tests), it costs one lookup.

Points: ``extract.batch`` (a batch of Zephyr records stored), ``extract.checkpoint.<type>`` (a
listing's page stored with its checkpoint), ``extract.attachment_downloaded`` (a file in the cache,
not recorded), ``overlap.attachment_round`` (a round of attachments planned while extract still
downloads, not loaded), ``overlap.attachment_read`` (a round's uploaded files read back for
validate and kept, not yet validated), ``overlap.extract_done`` (extract finished while load
had begun: transform is about to plan the rest), ``transform.batch`` (a batch of plans stored),
``load.after_intent`` (intent recorded, request not sent), ``load.after_create`` (create
answered, not recorded), ``load.before_approve`` (test case created, not approved),
``load.after_record`` (created and recorded), ``validate.read`` (qTest partly read back), and
``phase.<name>`` (a phase about to start).
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "ZTOQ_TEST_KILL_AT"

_arrivals: dict[str, int] = {}


def fault_point(point: str) -> None:
    """Kill this process (SIGKILL) when ``ZTOQ_TEST_KILL_AT`` names ``point`` and its count is reached."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    name, _, nth = spec.rpartition(":")
    if name != point:
        return
    _arrivals[point] = _arrivals.get(point, 0) + 1
    if _arrivals[point] >= int(nth or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
