"""Seats and waitlist promotion, as pure functions (no Flask, no SQLAlchemy).

The service reads the event's capacity, the number of confirmed registrations and the waitlist in
order (earliest first), asks these functions who gets a seat, and writes the answer back.
"""
from typing import Hashable, Sequence, TypeVar

T = TypeVar("T", bound=Hashable)


def seats_left(capacity: int | None, confirmed: int) -> int | None:
    """Free seats; None when the event is unlimited. Never negative."""
    if capacity is None:
        return None
    return max(0, capacity - confirmed)


def is_full(capacity: int | None, confirmed: int) -> bool:
    return capacity is not None and confirmed >= capacity


def admit(capacity: int | None, confirmed: int, waitlist_length: int) -> bool:
    """Does a newcomer get a seat at once? Only when a seat is free and nobody is already waiting."""
    return waitlist_length == 0 and not is_full(capacity, confirmed)


def promote(capacity: int | None, confirmed: int, waitlist: Sequence[T]) -> list[T]:
    """Who moves from the waitlist (in order, earliest first) to a confirmed seat.

    The head of the waitlist fills the free seats; with unlimited capacity everyone does.
    """
    if capacity is None:
        return list(waitlist)
    free = seats_left(capacity, confirmed) or 0
    return list(waitlist[:free])


def positions(waitlist: Sequence[T]) -> dict[T, int]:
    """Waitlist position of each entry, starting at 1."""
    return {item: index for index, item in enumerate(waitlist, start=1)}
