"""Store-wide queries for ``ztoq db stats``, ``ztoq db index`` and rolling back a phase."""

from __future__ import annotations

from sqlalchemy import Table, delete, func, inspect, select, text

from ztoq.store.records import IndexInfo
from ztoq.store.repo_base import RepoBase
from ztoq.store.tables import (
    ALL_TABLES,
    OPTIONAL_INDEXES,
    attachments,
    planned_entities,
    problems,
    runs,
    source_entities,
)

#: What each phase produced in the store (mappings are never cleared: see ``clear_phase``).
_PHASE_TABLES: dict[str, tuple[Table, ...]] = {
    "extract": (source_entities,),
    "transform": (planned_entities,),
    "load": (),
    "validate": (),
}


class AdminQueries(RepoBase):
    """Statistics, index maintenance and phase rollback."""

    def table_counts(self, project_key: str | None = None) -> dict[str, int]:
        """Rows per table, for one project or (``project_key`` None) the whole store.

        ``locks`` is not scoped by project and is always counted whole.
        """
        counts: dict[str, int] = {}
        for table in ALL_TABLES:
            query = select(func.count()).select_from(table)
            if project_key is not None and "project_key" in table.c:
                query = query.where(table.c.project_key == project_key)
            elif project_key is not None and table.name == "phase_runs":
                query = query.where(
                    table.c.run_id.in_(select(runs.c.id).where(runs.c.project_key == project_key))
                )
            counts[table.name] = int(self._session.execute(query).scalar_one())
        return counts

    def clear_phase(self, project_key: str, phase: str) -> dict[str, int]:
        """Roll back what a phase stored for a project, so it runs again from scratch.

        ``extract`` removes the raw source entities and the attachment catalogue, ``transform`` the
        planned entities; every phase also loses its problems. Mappings are kept whatever the phase:
        they are the only record of what already exists in qTest, and forgetting them would make the
        next load create duplicates. For the same reason attachments already uploaded to qTest keep
        their rows (files in the cache are never removed here: they are named by content).

        Args:
            project_key: The Zephyr project key.
            phase: ``extract``, ``transform``, ``load`` or ``validate``.

        Returns:
            Rows deleted per table.
        """
        if phase not in _PHASE_TABLES:
            raise ValueError(f"phase must be one of {', '.join(_PHASE_TABLES)}, not {phase!r}")
        deleted: dict[str, int] = {}
        for table in _PHASE_TABLES[phase]:
            result = self._session.execute(delete(table).where(table.c.project_key == project_key))
            deleted[table.name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if phase == "extract":
            result = self._session.execute(
                delete(attachments).where(
                    attachments.c.project_key == project_key, attachments.c.target_id.is_(None)
                )
            )
            deleted[attachments.name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        result = self._session.execute(
            delete(problems).where(problems.c.project_key == project_key, problems.c.phase == phase)
        )
        deleted[problems.name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
        return deleted

    def index_report(self) -> list[IndexInfo]:
        """Every index of the store tables, and any recommended index that is missing.

        Recommended are the schema's own indexes and the optional ones for large migrations.
        Indexes someone added by hand are listed as not recommended. Primary keys are not listed.
        """
        inspector = inspect(self._session.connection())
        existing: dict[tuple[str, str], tuple[str, ...]] = {}
        for table in ALL_TABLES:
            for index in inspector.get_indexes(table.name):
                columns = tuple(str(c) for c in index["column_names"] if c is not None)
                existing[(table.name, str(index["name"]))] = columns
        report: list[IndexInfo] = []
        wanted: list[tuple[str, str, tuple[str, ...], bool]] = [
            (table.name, str(index.name), tuple(c.name for c in index.columns), True)
            for table in ALL_TABLES
            for index in sorted(table.indexes, key=lambda ix: str(ix.name))
        ]
        wanted += [(spec.table, spec.name, spec.columns, False) for spec in OPTIONAL_INDEXES]
        for table_name, name, columns, in_schema in wanted:
            report.append(
                IndexInfo(table_name, name, columns, (table_name, name) in existing, True, in_schema)
            )
            existing.pop((table_name, name), None)
        for (table_name, name), columns in sorted(existing.items()):
            report.append(IndexInfo(table_name, name, columns, True, False, False))
        return report

    def create_recommended_indexes(self) -> list[str]:
        """Create every recommended index that is missing; returns the names created (idempotent)."""
        created: list[str] = []
        tables: set[str] = set()
        preparer = self._session.get_bind().dialect.identifier_preparer
        for info in self.index_report():
            if info.exists or not info.recommended:
                continue
            columns = ", ".join(preparer.quote(c) for c in info.columns)
            self._session.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {preparer.quote(info.name)} "
                    f"ON {preparer.quote(info.table)} ({columns})"
                )
            )
            created.append(info.name)
            tables.add(info.table)
        if self.dialect == "postgresql":
            # Fresh statistics so the planner uses the new indexes at once.
            for table in sorted(tables):
                self._session.execute(text(f"ANALYZE {preparer.quote(table)}"))
        return created
