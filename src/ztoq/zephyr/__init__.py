"""Zephyr Scale Cloud REST API v2: the client extract reads with, its pagination and its models."""

from ztoq.zephyr.client import ZephyrClient
from ztoq.zephyr.models import parse, parse_version_url
from ztoq.zephyr.pagination import CursorPaginator, OffsetPaginator, PaginationStalled

__all__ = [
    "CursorPaginator",
    "OffsetPaginator",
    "PaginationStalled",
    "ZephyrClient",
    "parse",
    "parse_version_url",
]
