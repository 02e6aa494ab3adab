"""The sources ztoq migrates from: one adapter package each, canonical records shared by all.

``source_for(config)`` is the one place that picks the adapter of the configured source; the
pipeline reads through the :class:`~ztoq.sources.base.SourceAdapter` it returns and never sees a
source's wire format. :mod:`ztoq.sources.records` (the canonical records) is a leaf that mapping
reads; this package's ``__init__`` imports no adapter until one is asked for, so reading the
records never loads an HTTP client.

To add a source: a package ``ztoq/sources/<name>/`` with an adapter (extract) and a record reader
(transform), an entry in :data:`SOURCES` and :data:`SOURCE_TITLES`, and a rule in
:func:`source_name`. Extract records the source of each project in the store
(:data:`~ztoq.sources.base.SOURCE_KIND`), so status and reports decode a store's rows with the
reader of the source that wrote them, and a project is never mixed from two sources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

    from ztoq.config import ZtoqConfig
    from ztoq.sources.base import RecordReader, SourceAdapter


@dataclass(frozen=True)
class SourceKind:
    """How to build one source's adapter (extract) and its record reader (transform)."""

    adapter: Callable[[ZtoqConfig, httpx.AsyncBaseTransport | None], SourceAdapter]
    reader: Callable[[], RecordReader]


def _zephyr_cloud_adapter(config: ZtoqConfig, transport: httpx.AsyncBaseTransport | None) -> SourceAdapter:
    from ztoq.sources.zephyr_cloud.adapter import ZephyrCloudSource

    return ZephyrCloudSource(config, transport=transport)


def _zephyr_cloud_reader() -> RecordReader:
    from ztoq.sources.zephyr_cloud.reader import ZephyrCloudRecords

    return ZephyrCloudRecords()


def _zephyr_server_adapter(config: ZtoqConfig, transport: httpx.AsyncBaseTransport | None) -> SourceAdapter:
    from ztoq.sources.zephyr_server.adapter import ZephyrServerSource

    return ZephyrServerSource(config, transport=transport)


def _zephyr_server_reader() -> RecordReader:
    from ztoq.sources.zephyr_server.reader import ZephyrServerRecords

    return ZephyrServerRecords()


#: Every source ztoq can read, by name.
SOURCES: dict[str, SourceKind] = {
    "zephyr_cloud": SourceKind(_zephyr_cloud_adapter, _zephyr_cloud_reader),
    "zephyr_server": SourceKind(_zephyr_server_adapter, _zephyr_server_reader),
}

#: The source of a store that recorded none (stores written before there was a choice).
DEFAULT_SOURCE = "zephyr_cloud"

#: How reports and checks name each source.
SOURCE_TITLES: dict[str, str] = {
    "zephyr_cloud": "Zephyr Scale Cloud (REST API v2)",
    "zephyr_server": "Zephyr Scale Server/Data Center (REST API v1)",
}


def source_name(config: ZtoqConfig | None) -> str:
    """The name of the source ``config`` reads from (a key of :data:`SOURCES`).

    ``zephyr.api`` decides, else ``zephyr.base_url`` (:func:`ztoq.sources.detect.api_kind`).

    Raises:
        ConfigError: the base URL is neither a Zephyr Scale Cloud API nor a Jira site.
    """
    if config is None:
        return DEFAULT_SOURCE
    from ztoq.sources.detect import api_kind

    kind = api_kind(config.zephyr.base_url, config.zephyr.api)
    return "zephyr_server" if kind == "server" else "zephyr_cloud"


def source_title(name: str) -> str:
    """How reports name the source called ``name``."""
    return SOURCE_TITLES.get(name, name)


def source_for(config: ZtoqConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> SourceAdapter:
    """The adapter of the source ``config`` names.

    Building it opens nothing: its client is made when extract first reads.

    Args:
        config: the migration configuration.
        transport: an httpx transport to use instead of the network (tests, simulators).
    """
    return SOURCES[source_name(config)].adapter(config, transport)


def reader_for(config: ZtoqConfig | None = None) -> RecordReader:
    """The decoder of stored rows of the source ``config`` names (without a config: the default one).

    Transform and the status counts read the store only, so they need no credentials.
    """
    return SOURCES[source_name(config)].reader()


def reader_named(name: str | None) -> RecordReader:
    """The decoder of stored rows of the source called ``name`` (None or unknown: the default one)."""
    return SOURCES.get(name or DEFAULT_SOURCE, SOURCES[DEFAULT_SOURCE]).reader()
