"""Seats and waitlist promotion: pure functions, no app needed."""
from hypothesis import given
from hypothesis import strategies as st

from exchange.events import waitlist


def test_seats_left():
    assert waitlist.seats_left(10, 3) == 7
    assert waitlist.seats_left(10, 10) == 0
    assert waitlist.seats_left(10, 12) == 0  # never negative
    assert waitlist.seats_left(None, 500) is None


def test_admit_only_when_a_seat_is_free_and_nobody_waits():
    assert waitlist.admit(10, 9, 0)
    assert not waitlist.admit(10, 10, 0)
    assert not waitlist.admit(10, 9, 1)  # nobody jumps the queue
    assert waitlist.admit(None, 1000, 0)


def test_promote_takes_the_head_of_the_waitlist():
    assert waitlist.promote(10, 8, ["a", "b", "c"]) == ["a", "b"]
    assert waitlist.promote(10, 10, ["a", "b"]) == []
    assert waitlist.promote(10, 12, ["a"]) == []
    assert waitlist.promote(None, 50, ["a", "b"]) == ["a", "b"]
    assert waitlist.promote(3, 0, []) == []


def test_positions_start_at_one():
    assert waitlist.positions(["x", "y"]) == {"x": 1, "y": 2}


@given(capacity=st.one_of(st.none(), st.integers(1, 50)), confirmed=st.integers(0, 60),
       queue=st.lists(st.integers(), unique=True, max_size=40))
def test_promotion_never_overfills_and_keeps_order(capacity, confirmed, queue):
    chosen = waitlist.promote(capacity, confirmed, queue)
    assert chosen == queue[:len(chosen)]  # a prefix: first come, first served
    if capacity is not None:
        assert confirmed + len(chosen) <= max(capacity, confirmed)
        assert len(chosen) == min(len(queue), max(0, capacity - confirmed))
