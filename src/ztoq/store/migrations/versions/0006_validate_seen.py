"""Validation reads qTest a page at a time: what it read goes to two tables, not to memory.

``validate_seen`` holds one row per qTest entity the running validation read (its kind, id and
the Zephyr key it carries); ``validate_latest_logs`` the latest planned test log of each test run.
``ix_mappings_target`` (until now an optional index of ``ztoq db index create``) joins what
qTest answered to the planned entities by qTest id, so it is part of the schema: created here
unless a store already has it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "validate_seen",
        sa.Column("project_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source_key", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("project_key", "kind", "target_id", name=op.f("pk_validate_seen")),
    )
    op.create_index("ix_validate_seen_key", "validate_seen", ["project_key", "kind", "source_key"])
    op.create_table(
        "validate_latest_logs",
        sa.Column("project_key", sa.String(64), nullable=False),
        sa.Column("run_key", sa.String(255), nullable=False),
        sa.Column("sort_key", sa.String(255), nullable=False),
        sa.Column("log_key", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("project_key", "run_key", name=op.f("pk_validate_latest_logs")),
    )
    op.create_index(
        "ix_mappings_target", "mappings", ["project_key", "entity_type", "target_id"], if_not_exists=True
    )


def downgrade() -> None:
    # The index goes back to being optional: `ztoq db index create` adds it again.
    op.drop_index("ix_mappings_target", table_name="mappings")
    op.drop_table("validate_latest_logs")
    op.drop_index("ix_validate_seen_key", table_name="validate_seen")
    op.drop_table("validate_seen")
