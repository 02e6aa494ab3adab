"""Mappings remember the hash of the source records an entity was loaded from.

A test log is a fact about one execution: it must change in qTest only when that execution
changes in Zephyr, not when its test case is edited later (its plan may differ then, because step
results are matched against the test case's current steps). ``loaded_source_hash`` tells the two
apart.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("mappings") as batch:
        batch.add_column(sa.Column("loaded_source_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mappings") as batch:
        batch.drop_column("loaded_source_hash")
