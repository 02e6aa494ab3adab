"""qTest Manager API v3: the client the load and validate phases write and read with, and its models."""

from ztoq.qtest.auth import QTestAuth, site_name_from_url
from ztoq.qtest.client import OBJECT_TYPES, QTestClient, wire

__all__ = ["OBJECT_TYPES", "QTestAuth", "QTestClient", "site_name_from_url", "wire"]
