"""The intermediate store: SQLAlchemy tables, packaged Alembic migrations and the repository.

Typical use::

    store = open_store(config.database)
    with store.acquire_lock(project="PROJ"):
        with store.session() as repo:
            run_id = repo.start_run("PROJ", "migrate", ["extract"])
"""

from ztoq.store.core import Store
from ztoq.store.database import (
    SchemaState,
    SchemaStatus,
    create_store_engine,
    describe_url,
    head_revision,
    init_store,
    inspect_schema,
    open_store,
)
from ztoq.store.files import CacheWriter, FileCache
from ztoq.store.hashing import canonical_json, content_hash
from ztoq.store.lock import LockOwner, StoreLock
from ztoq.store.records import (
    TARGET_STATES,
    AttachmentFile,
    AttachmentState,
    AttachmentTotals,
    EntityKey,
    IndexInfo,
    ListedAttachment,
    LoadWork,
    MappingRecord,
    MappingState,
    PhaseRunRecord,
    PlannedItem,
    PlannedRecord,
    PlannedStatus,
    ProblemItem,
    ProblemRecord,
    RunRecord,
    RunStatus,
    Severity,
    SourceItem,
    SourceRecord,
    UpsertResult,
)
from ztoq.store.repository import Repository

__all__ = [
    "TARGET_STATES",
    "AttachmentFile",
    "AttachmentState",
    "AttachmentTotals",
    "CacheWriter",
    "EntityKey",
    "FileCache",
    "IndexInfo",
    "ListedAttachment",
    "LoadWork",
    "LockOwner",
    "MappingRecord",
    "MappingState",
    "PhaseRunRecord",
    "PlannedItem",
    "PlannedRecord",
    "PlannedStatus",
    "ProblemItem",
    "ProblemRecord",
    "Repository",
    "RunRecord",
    "RunStatus",
    "SchemaState",
    "SchemaStatus",
    "Severity",
    "SourceItem",
    "SourceRecord",
    "Store",
    "StoreLock",
    "UpsertResult",
    "canonical_json",
    "content_hash",
    "create_store_engine",
    "describe_url",
    "head_revision",
    "init_store",
    "inspect_schema",
    "open_store",
]
