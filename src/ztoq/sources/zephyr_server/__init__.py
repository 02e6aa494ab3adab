"""Zephyr Scale Server/Data Center REST API v1 as a source: the adapter, its HTTP client, its decoder.

The differences from Zephyr Scale Cloud (:mod:`ztoq.sources.zephyr_cloud`) are written down in
each module: the client (site URL, credentials, search paging), the adapter (what is read and
how it is keyed), the decoder (names not ids, paths not folder ids, inline scripts, results per
run) and the attachments (step indexes, URLs on the Jira site).
"""

from ztoq.sources.zephyr_server import decode
from ztoq.sources.zephyr_server.adapter import ZephyrServerSource
from ztoq.sources.zephyr_server.attachments import ATTACHMENT_PATHS, ZephyrServerAttachments
from ztoq.sources.zephyr_server.client import SearchPages, SearchStalled, ZephyrServerClient, project_query
from ztoq.sources.zephyr_server.reader import ZephyrServerRecords

__all__ = [
    "ATTACHMENT_PATHS",
    "SearchPages",
    "SearchStalled",
    "ZephyrServerAttachments",
    "ZephyrServerClient",
    "ZephyrServerRecords",
    "ZephyrServerSource",
    "decode",
    "project_query",
]
