"""The results table.

Revision ID: 0001_results
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_results"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(400), nullable=False),
        sa.Column("image_threshold", sa.Float(), nullable=False),
        sa.Column("pixel_threshold", sa.Float(), nullable=False),
        sa.Column("image_norm", sa.Float(), nullable=False),
        sa.Column("pixel_norm", sa.Float(), nullable=False),
        sa.Column("picture_sha256", sa.String(64), nullable=False),
        sa.Column("picture_name", sa.String(1000), nullable=False),
        sa.Column("part_id", sa.String(200), nullable=True),
        sa.Column("line", sa.String(200), nullable=True),
        sa.Column("shift", sa.String(200), nullable=True),
        sa.Column("raw_score", sa.Float(), nullable=False),
        sa.Column("norm_score", sa.Float(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("defect_regions", sa.JSON(), nullable=False),
        sa.Column("picture_path", sa.String(1000), nullable=True),
        sa.Column("map_path", sa.String(1000), nullable=True),
    )
    op.create_index("ix_results_run_taken", "results", ["run_id", "taken_at"])
    op.create_index("ix_results_taken", "results", ["taken_at"])
    op.create_index("ix_results_part", "results", ["part_id"])
    op.create_index("ix_results_sha", "results", ["picture_sha256"])


def downgrade() -> None:
    op.drop_table("results")
