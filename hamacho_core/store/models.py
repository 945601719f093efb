"""The store's tables as typed SQLAlchemy mapped classes (the migrations in ``migrations/versions`` create them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Result"]


class Base(DeclarativeBase):
    pass


class Result(Base):
    """One scored picture: when, with which run and thresholds, what it was, and what the run said."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # server time of the write (UTC)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when the picture was taken (caller's)
    source: Mapped[str] = mapped_column(String(16))  # "api" | "app" | "cli"
    run_id: Mapped[str] = mapped_column(String(400))  # <project>:<run folder>, or the run folder's path
    image_threshold: Mapped[float] = mapped_column(Float)  # the run's raw thresholds at the time
    pixel_threshold: Mapped[float] = mapped_column(Float)
    image_norm: Mapped[float] = mapped_column(Float)  # normalized thresholds used for the verdict and regions
    pixel_norm: Mapped[float] = mapped_column(Float)
    picture_sha256: Mapped[str] = mapped_column(String(64))
    picture_name: Mapped[str] = mapped_column(String(1000))
    part_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    line: Mapped[str | None] = mapped_column(String(200), nullable=True)
    shift: Mapped[str | None] = mapped_column(String(200), nullable=True)
    raw_score: Mapped[float] = mapped_column(Float)
    norm_score: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))  # "good" | "defect"
    defect_regions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    picture_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # relative to the files folder
    map_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    __table_args__ = (
        Index("ix_results_run_taken", "run_id", "taken_at"),
        Index("ix_results_taken", "taken_at"),
        Index("ix_results_part", "part_id"),
        Index("ix_results_sha", "picture_sha256"),
    )
