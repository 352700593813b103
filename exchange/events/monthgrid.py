"""The month calendar as plain data (no Flask, no SQLAlchemy).

Events are given with their first and last day in the viewer's time zone; an event that spans several
days appears on each of them.
"""
import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable


@dataclass
class Day:
    date: date
    in_month: bool
    is_today: bool
    items: list[Any] = field(default_factory=list)


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def grid_bounds(year: int, month: int, first_weekday: int = 0) -> tuple[date, date]:
    """First and last day shown: whole weeks around the month (first_weekday 0 = Monday)."""
    weeks = calendar.Calendar(first_weekday).monthdatescalendar(year, month)
    return weeks[0][0], weeks[-1][-1]


def month_grid(year: int, month: int, entries: Iterable[tuple[date, date, Any]], today: date,
               first_weekday: int = 0) -> list[list[Day]]:
    """Weeks of Days; each entry (first_day, last_day, item) is placed on every day it covers in the grid."""
    weeks = [[Day(d, d.month == month, d == today) for d in week]
             for week in calendar.Calendar(first_weekday).monthdatescalendar(year, month)]
    by_date = {day.date: day for week in weeks for day in week}
    first_shown, last_shown = weeks[0][0].date, weeks[-1][-1].date
    for first_day, last_day, item in entries:
        current = max(first_day, first_shown)
        while current <= min(last_day, last_shown):
            by_date[current].items.append(item)
            current += timedelta(days=1)
    return weeks
