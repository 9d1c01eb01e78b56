"""How times and days read in the outputs (one wording for map, briefing, report and sheets)."""

from __future__ import annotations

from .scenario import DAYS

__all__ = ["days_label"]


def days_label(days: tuple[str, ...] | None) -> str:
    """``None`` (every day) or the window's days in week order: ``"mon, tue"``."""
    return "every day" if days is None else ", ".join(d for d in DAYS if d in days)
