"""Explanations of a placement result: cut-offs per place, reasons per student.

Pure functions over the same plain data as
:func:`exchange.matching.algorithm.deferred_acceptance` plus its result.  Ranks
and choice positions here are 1-based (1 = best / most wanted).  Nothing here
is translated: the app turns the enums into words.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Cutoff",
    "Ineligibility",
    "InconsistentAssignmentError",
    "Reason",
    "ReasonKind",
    "blocking_pairs",
    "explain_all",
    "explain_student",
    "place_cutoffs",
]

Choices = Mapping[Hashable, Sequence[Hashable]]
Capacities = Mapping[Hashable, int]
Rankings = Mapping[Hashable, Sequence[Hashable]]
Assignment = Mapping[Hashable, "Hashable | None"]


class InconsistentAssignmentError(ValueError):
    """The assignment does not fit the inputs (invalid or not stable)."""


class ReasonKind(Enum):
    """Why a student did not get a place they preferred."""

    NOT_ELIGIBLE = "not_eligible"  # the pair is not acceptable, see Ineligibility
    FULL = "full"  # all seats went to better-ranked students


class Ineligibility(Enum):
    """Why a (student, place) pair is not acceptable."""

    UNKNOWN_PLACE = "unknown_place"  # neither in capacities nor in rankings
    NO_SEATS = "no_seats"  # capacity 0 (or none given)
    NOT_RANKED = "not_ranked"  # the place's ranking does not list the student


@dataclass(frozen=True, slots=True)
class Cutoff:
    """A place's outcome; ``student``/``rank`` (the cut-off) are set only when full."""

    place: Hashable
    capacity: int
    admitted: int
    student: Hashable | None = None  # lowest-ranked admitted student
    rank: int | None = None  # its 1-based position in the place's ranking

    @property
    def is_full(self) -> bool:
        return self.admitted >= self.capacity

    @property
    def seats_left(self) -> int:
        return max(0, self.capacity - self.admitted)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why ``place`` (the student's ``choice``-th choice) was not obtained."""

    place: Hashable
    choice: int  # 1-based position in the student's list (first occurrence)
    kind: ReasonKind
    ineligibility: Ineligibility | None = None  # set iff kind is NOT_ELIGIBLE
    student_rank: int | None = None  # the student's rank at the place, if ranked
    cutoff_student: Hashable | None = None  # FULL: lowest-ranked admitted student
    cutoff_rank: int | None = None  # FULL: that student's rank (< student_rank)


class _Ranks:
    """Lazily built first-occurrence rank lookups (1-based) per place."""

    __slots__ = ("_rankings", "_cache")

    def __init__(self, rankings: Rankings) -> None:
        self._rankings = rankings
        self._cache: dict[Hashable, dict[Hashable, int]] = {}

    def get(self, place: Hashable, student: Hashable) -> int | None:
        table = self._cache.get(place)
        if table is None:
            ranking = self._rankings.get(place, ())
            n = len(ranking)
            table = self._cache[place] = dict(zip(reversed(ranking), range(n, 0, -1)))
        return table.get(student)


def _cutoffs(assignment: Assignment, capacities: Capacities, rankings: Rankings, ranks: _Ranks) -> dict[Hashable, Cutoff]:
    admitted: dict[Hashable, list[Hashable]] = {}
    for student, place in assignment.items():
        if place is not None:
            admitted.setdefault(place, []).append(student)
    places = list(capacities)
    places.extend(p for p in rankings if p not in capacities)
    unknown = [p for p in admitted if p not in capacities and p not in rankings]
    if unknown:
        raise InconsistentAssignmentError(f"students assigned to unknown place {unknown[0]!r}")
    result = {}
    for place in places:
        capacity = capacities.get(place, 0)
        students = admitted.get(place, ())
        if len(students) > capacity:
            raise InconsistentAssignmentError(
                f"place {place!r} has {len(students)} students for {capacity} seats")
        worst, worst_rank = None, 0
        for student in students:
            rank = ranks.get(place, student)
            if rank is None:
                raise InconsistentAssignmentError(f"place {place!r} does not rank {student!r}")
            if rank > worst_rank:
                worst, worst_rank = student, rank
        if students and len(students) >= capacity:
            result[place] = Cutoff(place, capacity, len(students), worst, worst_rank)
        else:
            result[place] = Cutoff(place, capacity, len(students))
    return result


def place_cutoffs(assignment: Assignment, capacities: Capacities, rankings: Rankings) -> dict[Hashable, Cutoff]:
    """Return a :class:`Cutoff` for every place in ``capacities`` or ``rankings``.

    Raises :class:`InconsistentAssignmentError` if a place is over capacity,
    unknown, or holds a student it does not rank.
    """
    return _cutoffs(assignment, capacities, rankings, _Ranks(rankings))


def _review(student, assignment, choices, capacities, ranks, cutoffs, rankings):
    """Yield (place, Reason or None) for each distinct choice above the one obtained.

    None marks a blocking pair: an eligible place that should have taken the student.
    """
    wanted = choices[student]
    got = assignment.get(student)
    seen: set[Hashable] = set()
    for position, place in enumerate(wanted, 1):
        if place in seen:
            continue
        seen.add(place)
        if got is not None and place == got:
            return
        rank = ranks.get(place, student) if place in rankings else None
        if place not in capacities and place not in rankings:
            yield place, Reason(place, position, ReasonKind.NOT_ELIGIBLE, Ineligibility.UNKNOWN_PLACE)
        elif capacities.get(place, 0) <= 0:
            yield place, Reason(place, position, ReasonKind.NOT_ELIGIBLE, Ineligibility.NO_SEATS, rank)
        elif rank is None:
            yield place, Reason(place, position, ReasonKind.NOT_ELIGIBLE, Ineligibility.NOT_RANKED)
        else:
            cut = cutoffs[place]
            if cut.is_full and cut.rank is not None and cut.rank < rank:
                yield place, Reason(place, position, ReasonKind.FULL, None, rank, cut.student, cut.rank)
            else:
                yield place, None
    if got is not None:
        raise InconsistentAssignmentError(f"{student!r} is assigned to {got!r}, which is not in their choices")


def _explain(student, assignment, choices, capacities, ranks, cutoffs, rankings) -> list[Reason]:
    reasons = []
    for place, reason in _review(student, assignment, choices, capacities, ranks, cutoffs, rankings):
        if reason is None:
            raise InconsistentAssignmentError(
                f"not stable: {student!r} and {place!r} would both rather be matched to each other")
        reasons.append(reason)
    return reasons


def explain_student(
    student: Hashable,
    assignment: Assignment,
    choices: Choices,
    capacities: Capacities,
    rankings: Rankings,
    *,
    cutoffs: Mapping[Hashable, Cutoff] | None = None,
) -> list[Reason]:
    """Return, for each distinct choice above the one obtained (all if unmatched), why not.

    Pass ``cutoffs`` from :func:`place_cutoffs` to avoid recomputing them.
    Raises ``KeyError`` for an unknown student and
    :class:`InconsistentAssignmentError` if the assignment is invalid or unstable.
    """
    ranks = _Ranks(rankings)
    if cutoffs is None:
        cutoffs = _cutoffs(assignment, capacities, rankings, ranks)
    return _explain(student, assignment, choices, capacities, ranks, cutoffs, rankings)


def explain_all(
    assignment: Assignment, choices: Choices, capacities: Capacities, rankings: Rankings
) -> dict[Hashable, list[Reason]]:
    """Return :func:`explain_student` for every student, in linear time overall."""
    ranks = _Ranks(rankings)
    cutoffs = _cutoffs(assignment, capacities, rankings, ranks)
    return {s: _explain(s, assignment, choices, capacities, ranks, cutoffs, rankings) for s in choices}


def blocking_pairs(
    assignment: Assignment, choices: Choices, capacities: Capacities, rankings: Rankings
) -> list[tuple[Hashable, Hashable]]:
    """Return the (student, place) pairs that block ``assignment`` (empty iff stable).

    Raises :class:`InconsistentAssignmentError` if the assignment is invalid
    (over capacity, unacceptable pair, place not in the student's list).
    """
    ranks = _Ranks(rankings)
    cutoffs = _cutoffs(assignment, capacities, rankings, ranks)
    pairs = []
    for student in choices:
        for place, reason in _review(student, assignment, choices, capacities, ranks, cutoffs, rankings):
            if reason is None:
                pairs.append((student, place))
    return pairs
