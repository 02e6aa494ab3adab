"""The sizes (or SHA-256) of uploaded files read back by the rounds of an overlapped run.

``validate_attachment_reads`` holds, per qTest attachment id, what a round of attachments read of
a file right after uploading it (the run, the Zephyr key, the object it is on, its size and, for a
deep validation, its SHA-256), so the validation of attachments that ends the run reads only the
files it has no row for.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "validate_attachment_reads",
        sa.Column("project_key", sa.String(64), nullable=False),
        sa.Column("target_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(255), nullable=False),
        sa.Column("place", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("project_key", "target_id", name=op.f("pk_validate_attachment_reads")),
    )


def downgrade() -> None:
    op.drop_table("validate_attachment_reads")
