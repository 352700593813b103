"""Student-proposing deferred acceptance (hospitals/residents), plain Python.

No framework imports: this module is tested and benchmarked on its own.
"""
from __future__ import annotations

import gc
from collections.abc import Hashable, Mapping, Sequence
from heapq import heappush, heapreplace

__all__ = ["deferred_acceptance"]


def deferred_acceptance(
    choices: Mapping[Hashable, Sequence[Hashable]],
    capacities: Mapping[Hashable, int],
    rankings: Mapping[Hashable, Sequence[Hashable]],
) -> dict[Hashable, Hashable | None]:
    """Return the student-optimal stable matching as ``{student: place or None}``.

    ``choices`` maps each student to places, most wanted first; ``capacities``
    maps places to seats (>= 0); ``rankings`` maps places to students, best
    first.  A pair is acceptable only if each lists the other and the place
    has a seat; for duplicates the first occurrence counts.  Every key of
    ``choices`` is a key of the result.  The result does not depend on dict
    order (the student-optimal stable matching is unique).
    """
    if capacities and min(capacities.values()) < 0:
        bad = next(p for p, c in capacities.items() if c < 0)
        raise ValueError(f"negative capacity for place {bad!r}")
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the solve allocates many small objects, none cyclic
    try:
        return _solve(choices, capacities, rankings)
    finally:
        if gc_was_enabled:
            gc.enable()


def _solve(
    choices: Mapping[Hashable, Sequence[Hashable]],
    capacities: Mapping[Hashable, int],
    rankings: Mapping[Hashable, Sequence[Hashable]],
) -> dict[Hashable, Hashable | None]:
    # Per place: (rank lookup, heap, capacity, ranking).  The lookup maps a
    # student to -rank (first occurrence wins); the heap holds the -rank of
    # every admitted student, so heap[0] is the worst admitted one and
    # ranking[-heap[0]] is that student.
    places: dict[Hashable, tuple] = {}
    cap_get = capacities.get
    for place, ranking in rankings.items():
        cap = cap_get(place, 0)
        if cap <= 0 or not ranking:
            continue
        n = len(ranking)
        neg_rank = dict(zip(reversed(ranking), range(1 - n, 1)))
        places[place] = (neg_rank.get, [], cap, ranking)

    get_place = places.get
    resume: dict[Hashable, object] = {}  # student -> iterator over the rest of its list
    for student, wanted in choices.items():
        it = iter(wanted)
        while it is not None:  # one rejection chain
            nxt = None
            for place in it:
                pd = get_place(place)
                if pd is None:
                    continue
                r = pd[0](student)
                if r is None:
                    continue
                heap = pd[1]
                if len(heap) < pd[2]:
                    heappush(heap, r)
                    resume[student] = it
                    break
                worst = heap[0]
                if r > worst:  # better ranked than the worst admitted
                    heapreplace(heap, r)
                    resume[student] = it
                    student = pd[3][-worst]
                    nxt = resume[student]
                    break
            it = nxt

    result: dict[Hashable, Hashable | None] = dict.fromkeys(choices)
    for place, pd in places.items():
        ranking = pd[3]
        for r in pd[1]:
            result[ranking[-r]] = place
    return result
