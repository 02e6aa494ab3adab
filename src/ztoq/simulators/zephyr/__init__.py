"""Simulator of the Zephyr Scale Cloud REST API v2, and its deterministic dataset generator.

``ZephyrSimulator(dataset)`` serves a ``--data`` dataset (or nothing) under ``/v2`` as an ASGI
app; ``generate_dataset(n, seed)`` builds a realistic project in that format. See
docs/simulators-zephyr.md for the dataset format, the endpoints and every behaviour the
vendor's specification leaves open. ``generated_content_sha256(size, seed)`` and
``generated_content_chunks(size, seed)`` recompute the bytes of a ``generated`` attachment.
"""

from ztoq.simulators.zephyr.app import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator
from ztoq.simulators.zephyr.attachment_content import generated_content_chunks, generated_content_sha256
from ztoq.simulators.zephyr.attachments import UNAVAILABLE_MESSAGE
from ztoq.simulators.zephyr.generate import generate_dataset
from ztoq.simulators.zephyr.generate_attachments import LARGE_ATTACHMENT_SIZE
from ztoq.simulators.zephyr.jira_users import DEFAULT_JIRA_API_TOKEN, DEFAULT_JIRA_EMAIL

__all__ = [
    "DEFAULT_JIRA_API_TOKEN",
    "DEFAULT_JIRA_EMAIL",
    "DEFAULT_ZEPHYR_TOKEN",
    "LARGE_ATTACHMENT_SIZE",
    "UNAVAILABLE_MESSAGE",
    "ZephyrSimulator",
    "generate_dataset",
    "generated_content_chunks",
    "generated_content_sha256",
]
