"""The review clock (R-L4): 5 working days from submission on the official calendar
(``services/calendar.py``), yellow from the day before, red after. ``due_on_provisional`` says the
calendar did not cover every day counted (a year with no schedule loaded yet); such a due date is
recomputed when the year is loaded (``services/clocks.py``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from backend.services import calendar

REVIEW_WORKING_DAYS = 5

Colour = Literal["green", "yellow", "red"]


async def review_due_on(submitted_on: date) -> calendar.Deadline:
    return await calendar.add_working_days(submitted_on, REVIEW_WORKING_DAYS)


def colour(due_on: date, today: date) -> Colour:
    """red: overdue; yellow: due tomorrow (or today); green otherwise (for clocks still running)."""
    if today > due_on:
        return "red"
    if due_on - today <= timedelta(days=1):
        return "yellow"
    return "green"
