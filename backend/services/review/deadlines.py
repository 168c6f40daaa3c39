"""The review clock (R-L4): 5 working days from submission, yellow from the day before, red after.

The working-day engine (issue 11) does not exist yet: ``add_working_days`` counts Monday to Friday
and says so (``PROVISIONAL``). Issue 11 replaces this one function with the calendar (holidays and
make-up working days) and sets ``PROVISIONAL`` to False; nothing else changes.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

REVIEW_WORKING_DAYS = 5
PROVISIONAL = True  # weekdays only: public holidays and make-up working days are not known yet

Colour = Literal["green", "yellow", "red"]


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (Monday to Friday, provisionally)."""
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def review_due_on(submitted_on: date) -> date:
    return add_working_days(submitted_on, REVIEW_WORKING_DAYS)


def colour(due_on: date, today: date) -> Colour:
    """red: overdue; yellow: due tomorrow (or today); green otherwise (for reviews still waiting)."""
    if today > due_on:
        return "red"
    if due_on - today <= timedelta(days=1):
        return "yellow"
    return "green"
