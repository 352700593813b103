"""The month calendar grid: pure, no app needed."""
from datetime import date

from exchange.events import monthgrid


def test_grid_covers_whole_weeks_starting_monday():
    weeks = monthgrid.month_grid(2026, 10, [], today=date(2026, 10, 14))
    assert weeks[0][0].date == date(2026, 9, 28)  # 1 October 2026 is a Thursday
    assert weeks[-1][-1].date == date(2026, 11, 1)
    assert all(len(week) == 7 for week in weeks)
    assert [d for w in weeks for d in w if d.is_today][0].date == date(2026, 10, 14)
    assert not weeks[0][0].in_month and weeks[0][3].in_month


def test_grid_starting_sunday():
    first, last = monthgrid.grid_bounds(2026, 10, first_weekday=6)
    assert first == date(2026, 9, 27) and first.weekday() == 6


def test_multi_day_event_is_on_every_day_it_covers():
    weeks = monthgrid.month_grid(2026, 10, [(date(2026, 10, 30), date(2026, 11, 3), "fair"),
                                            (date(2026, 10, 5), date(2026, 10, 5), "talk")],
                                 today=date(2026, 10, 1))
    days = {d.date: d.items for w in weeks for d in w}
    assert days[date(2026, 10, 30)] == ["fair"]
    assert days[date(2026, 11, 1)] == ["fair"]  # shown until the grid ends
    assert date(2026, 11, 3) not in days
    assert days[date(2026, 10, 5)] == ["talk"]
    assert days[date(2026, 10, 6)] == []


def test_event_starting_before_the_grid_is_clipped():
    weeks = monthgrid.month_grid(2026, 10, [(date(2026, 9, 1), date(2026, 10, 2), "long")], today=date(2026, 10, 1))
    assert weeks[0][0].items == ["long"]


def test_shift_month_across_years():
    assert monthgrid.shift_month(2026, 12, 1) == (2027, 1)
    assert monthgrid.shift_month(2026, 1, -1) == (2025, 12)
