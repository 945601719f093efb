"""Progress reporting shared by the CLI (tqdm) and the app (st.progress).

A progress callback is any callable ``(done, total, stage) -> None``. Long operations call it after each step;
to cancel, the callback raises :class:`hamacho_core.errors.Cancelled`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

__all__ = ["ProgressCallback", "notify", "track"]

ProgressCallback = Callable[[int, int, str], None]
T = TypeVar("T")


def notify(progress: ProgressCallback | None, done: int, total: int, stage: str) -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(done, total, stage)


def track(items: Iterable[T], total: int, stage: str, progress: ProgressCallback | None) -> Iterator[T]:
    """Yield ``items``, reporting ``(i, total, stage)`` before the first and after each item."""
    notify(progress, 0, total, stage)
    for done, item in enumerate(items, start=1):
        yield item
        notify(progress, done, total, stage)
