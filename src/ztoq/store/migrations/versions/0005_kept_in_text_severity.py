"""Problems may have the severity ``kept_in_text``: a value kept whole in text, not degraded.

A value that qTest has no field for goes into the "Zephyr fields" block of a description or note,
whole. It is information, not a degradation, so it gets its own severity and the report, the
verdict and ``ztoq migrate status`` count it apart. Downgrading turns those problems back into
``degraded`` ones (what earlier revisions called them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the allowed severities (migrations never import the models).
BEFORE = ("skipped", "degraded", "failed", "missing", "mismatch")
AFTER = (*BEFORE, "kept_in_text")


def _allow(severities: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{s}'" for s in severities)
    # SQLite cannot alter a CHECK constraint: batch mode rebuilds the table there.
    with op.batch_alter_table("problems") as batch:
        batch.drop_constraint(op.f("ck_problems_severity"), type_="check")
        batch.create_check_constraint(op.f("ck_problems_severity"), f"severity IN ({listed})")


def upgrade() -> None:
    _allow(AFTER)


def downgrade() -> None:
    op.execute("UPDATE problems SET severity = 'degraded' WHERE severity = 'kept_in_text'")
    _allow(BEFORE)
