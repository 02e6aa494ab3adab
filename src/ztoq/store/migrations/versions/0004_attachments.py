"""The ``attachments`` table: every attachment the source holds, its cached file, where it landed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copy of the timestamp type (migrations never import the models).
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("project_key", sa.String(64), nullable=False),
        sa.Column("source_key", sa.String(255), nullable=False),
        sa.Column("owner_type", sa.String(32), nullable=False),
        sa.Column("owner_key", sa.String(255), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("locator", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("target_object_type", sa.String(32), nullable=True),
        sa.Column("target_object_id", sa.BigInteger(), nullable=True),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_run_id", sa.Integer(), nullable=True),
        sa.Column("last_seen_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.CheckConstraint("state IN ('listed', 'cached', 'failed')", name=op.f("ck_attachments_state")),
        sa.PrimaryKeyConstraint("project_key", "source_key", name=op.f("pk_attachments")),
    )
    op.create_index("ix_attachments_owner", "attachments", ["project_key", "owner_type", "owner_key"])
    op.create_index("ix_attachments_sha", "attachments", ["project_key", "sha256"])


def downgrade() -> None:
    op.drop_index("ix_attachments_sha", table_name="attachments")
    op.drop_index("ix_attachments_owner", table_name="attachments")
    op.drop_table("attachments")
