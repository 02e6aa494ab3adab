"""The initial schema: runs, phase runs, source and planned entities, mappings, problems, checkpoints, locks.

Revision ID: 0001
Revises:
Create Date: 2024-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types as they were at this revision (migrations never import the models).
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)
RUN_STATUS = "status IN ('running', 'succeeded', 'failed', 'interrupted', 'skipped')"


def _scope() -> list[sa.Column[str]]:
    return [
        sa.Column("project_key", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("source_key", sa.String(255), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_key", sa.String(64), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("phases", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("ztoq_version", sa.String(32), nullable=False),
        sa.Column("stats", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(RUN_STATUS, name=op.f("ck_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_runs_project", "runs", ["project_key", "started_at"])

    op.create_table(
        "phase_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("counts", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(RUN_STATUS, name=op.f("ck_phase_runs_status")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_phase_runs_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_runs")),
    )
    op.create_index("ix_phase_runs_run", "phase_runs", ["run_id"])

    op.create_table(
        "source_entities",
        *_scope(),
        sa.Column("source_id", sa.BigInteger(), nullable=True),
        sa.Column("parent_key", sa.String(255), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen_run_id", sa.Integer(), nullable=True),
        sa.Column("last_seen_run_id", sa.Integer(), nullable=True),
        sa.Column("extracted_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("project_key", "entity_type", "source_key", name=op.f("pk_source_entities")),
    )
    op.create_index(
        "ix_source_entities_parent", "source_entities", ["project_key", "entity_type", "parent_key"]
    )
    op.create_index(
        "ix_source_entities_order",
        "source_entities",
        ["project_key", "entity_type", "source_id", "source_key"],
    )

    op.create_table(
        "planned_entities",
        *_scope(),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("depends_on", JSON, nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("sort_key", sa.String(255), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=True),
        sa.Column("transformed_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint("status IN ('planned', 'skipped')", name=op.f("ck_planned_entities_status")),
        sa.PrimaryKeyConstraint("project_key", "entity_type", "source_key", name=op.f("pk_planned_entities")),
    )
    op.create_index(
        "ix_planned_entities_level",
        "planned_entities",
        ["project_key", "entity_type", "level", "sort_key", "source_key"],
    )

    op.create_table(
        "mappings",
        *_scope(),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column("target_pid", sa.String(64), nullable=True),
        sa.Column("target_version", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("intent_hash", sa.String(64), nullable=True),
        sa.Column("loaded_hash", sa.String(64), nullable=True),
        sa.Column("web_url", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "state IN ('intent', 'created', 'updated', 'adopted', 'failed', 'skipped', 'deleted')",
            name=op.f("ck_mappings_state"),
        ),
        sa.PrimaryKeyConstraint("project_key", "entity_type", "source_key", name=op.f("pk_mappings")),
    )
    op.create_index("ix_mappings_state", "mappings", ["project_key", "entity_type", "state"])

    op.create_table(
        "problems",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("project_key", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("source_key", sa.String(255), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("field", sa.String(255), nullable=True),
        sa.Column("detail", JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "severity IN ('skipped', 'degraded', 'failed', 'missing', 'mismatch')",
            name=op.f("ck_problems_severity"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_problems_run_id_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
    )
    op.create_index("ix_problems_severity", "problems", ["project_key", "phase", "severity"])
    op.create_index("ix_problems_entity", "problems", ["project_key", "phase", "entity_type", "source_key"])

    op.create_table(
        "checkpoints",
        sa.Column("project_key", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("project_key", "phase", "name", name=op.f("pk_checkpoints")),
    )

    op.create_table(
        "locks",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )


def downgrade() -> None:
    for table in ("locks", "checkpoints", "problems", "mappings", "planned_entities", "source_entities"):
        op.drop_table(table)
    op.drop_table("phase_runs")
    op.drop_table("runs")
