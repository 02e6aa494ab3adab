"""Zephyr Scale Cloud REST API v2 as a source: the adapter, its HTTP client and pagination, its decoder."""

from ztoq.sources.zephyr_cloud import decode
from ztoq.sources.zephyr_cloud.adapter import ZephyrCloudSource, execution_key
from ztoq.sources.zephyr_cloud.client import ZephyrClient
from ztoq.sources.zephyr_cloud.pagination import CursorPaginator, OffsetPaginator, PaginationStalled
from ztoq.sources.zephyr_cloud.reader import ZephyrCloudRecords

__all__ = [
    "CursorPaginator",
    "OffsetPaginator",
    "PaginationStalled",
    "ZephyrClient",
    "ZephyrCloudRecords",
    "ZephyrCloudSource",
    "decode",
    "execution_key",
]
