"""Tests for exchange.matching (algorithm + explanations); no Flask app needed."""
from __future__ import annotations

import copy
import gc
import functools
import itertools
import os
import random
import sys
import warnings
from collections import Counter
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.matching import (
    Cutoff,
    InconsistentAssignmentError,
    Ineligibility,
    Reason,
    ReasonKind,
    blocking_pairs,
    deferred_acceptance,
    explain_all,
    explain_student,
    place_cutoffs,
)

PROPS = settings(max_examples=200, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])
GHOST = 99  # a place id that exists in no capacities/rankings


# --------------------------------------------------------------------------
# Independent helpers (deliberately naive)

def dedup(seq):
    seen, out = set(), []
    for x in seq:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def acceptable(s, p, capacities, rankings):
    return capacities.get(p, 0) > 0 and s in rankings.get(p, ())


def naive_blocking(result, choices, capacities, rankings):
    """Check validity (asserts) and return the blocking pairs of ``result``."""
    assert list(result) == list(choices)
    load = Counter(p for p in result.values() if p is not None)
    for p, n in load.items():
        assert n <= capacities.get(p, 0), f"{p} over capacity"
    for s, p in result.items():
        if p is not None:
            assert p in choices[s] and acceptable(s, p, capacities, rankings)
    pairs = []
    for s, wanted in choices.items():
        got = result[s]
        for p in dedup(wanted):
            if p == got:
                break
            if not acceptable(s, p, capacities, rankings):
                continue
            ranking = list(rankings[p])
            admitted = [t for t, q in result.items() if q == p]
            if len(admitted) < capacities[p] or any(
                    ranking.index(t) > ranking.index(s) for t in admitted):
                pairs.append((s, p))
    return pairs


def assert_stable(result, choices, capacities, rankings):
    assert naive_blocking(result, choices, capacities, rankings) == []


@functools.cache
def reference_game():
    """Import ``matching.games.HospitalResident`` from the PyPI package.

    Without a ``tests/__init__.py``, pytest imports this test package under the
    top-level name ``matching``, shadowing the reference; import the reference
    with ``tests/`` off ``sys.path``, then put the test package back.
    """
    try:
        from matching.games import HospitalResident
        return HospitalResident
    except ModuleNotFoundError:
        pass

    def ours(name):
        return name == "matching" or name.startswith("matching.")

    shadow = {k: v for k, v in sys.modules.items() if ours(k)}
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    old_path = sys.path[:]
    for k in shadow:
        del sys.modules[k]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != tests_dir]
    try:
        from matching.games import HospitalResident
    finally:
        sys.path[:] = old_path
        for k in [k for k in sys.modules if ours(k)]:
            del sys.modules[k]
        sys.modules.update(shadow)
    return HospitalResident


def reference_solve(choices, capacities, rankings):
    """Solve with the `matching` package after cleaning to mutually acceptable form."""
    HospitalResident = reference_game()

    res_prefs = {}
    for s, wanted in choices.items():
        prefs = [p for p in dedup(wanted) if acceptable(s, p, capacities, rankings)]
        if prefs:
            res_prefs[s] = prefs
    hosp_prefs = {}
    for p, ranking in rankings.items():
        prefs = [s for s in dedup(ranking) if s in res_prefs and p in res_prefs[s]]
        if prefs and capacities.get(p, 0) > 0:
            hosp_prefs[p] = prefs
    result = dict.fromkeys(choices)
    if not res_prefs:
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cleaned instance must be valid
        game = HospitalResident.create_from_dictionaries(
            res_prefs, hosp_prefs, {p: capacities[p] for p in hosp_prefs})
    for hospital, residents in game.solve(optimal="resident").items():
        for r in residents:
            result[r.name] = hospital.name
    return result


@contextmanager
def recursion_limit(n):
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, n))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def random_instance(rng, n_students, n_places, messy=True):
    """Generated instance; ``messy`` adds unknown places, duplicates, capacity 0,
    one-sided rankings and students that list nothing."""
    places = list(range(n_places))
    choices = {}
    for s in range(n_students):
        k = rng.randint(0, min(n_places, 6)) if messy else rng.randint(1, min(n_places, 6))
        wanted = rng.sample(places, k)
        if messy and wanted and rng.random() < 0.1:
            wanted.insert(rng.randrange(len(wanted) + 1), rng.choice(wanted))
        if messy and rng.random() < 0.05:
            wanted.insert(rng.randrange(len(wanted) + 1), GHOST)
        choices[s] = wanted
    capacities = {p: rng.randint(0 if messy else 1, 4) for p in places}
    score = [rng.random() for _ in range(n_students)]
    rankings = {}
    for p in places:
        applicants = [s for s in range(n_students) if p in choices[s]]
        if messy:
            applicants = [s for s in applicants if rng.random() < 0.9]
            applicants += rng.sample(range(n_students), min(n_students, 2))  # never applied
        rankings[p] = sorted(set(applicants), key=score.__getitem__)
    if messy and places:
        del capacities[places[-1]]  # ranked but no capacity entry
    return choices, capacities, rankings


@st.composite
def instances(draw, max_students=8, max_places=5):
    n_s = draw(st.integers(0, max_students))
    n_p = draw(st.integers(0, max_places))
    students, places = list(range(n_s)), list(range(n_p))  # ids deliberately overlap
    place_ids = st.sampled_from(places + [GHOST])
    choices = {s: draw(st.lists(place_ids, max_size=n_p + 2)) for s in students}
    capacities = {p: draw(st.integers(0, 3)) for p in places if draw(st.integers(0, 9))}
    rankings = {}
    for p in places:
        if not draw(st.integers(0, 9)):
            continue
        order = draw(st.permutations(students))
        ranking = [s for s in order if draw(st.integers(0, 4))]
        if ranking and draw(st.booleans()):
            ranking.insert(draw(st.integers(0, len(ranking))), draw(st.sampled_from(ranking)))
        rankings[p] = ranking
    return choices, capacities, rankings


def shuffled(instance, rng):
    """Same instance with every dict in a different insertion order."""
    def sh(d):
        items = list(d.items())
        rng.shuffle(items)
        return dict(items)
    return tuple(sh(d) for d in instance)


# --------------------------------------------------------------------------
# deferred_acceptance: examples and edge cases

def test_empty_inputs():
    assert deferred_acceptance({}, {}, {}) == {}
    assert deferred_acceptance({"a": []}, {}, {}) == {"a": None}
    assert deferred_acceptance({}, {"X": 3}, {"X": ["a"]}) == {}


def test_student_optimal_when_two_stable_matchings_exist():
    choices = {"a": ["X", "Y"], "b": ["Y", "X"]}
    capacities = {"X": 1, "Y": 1}
    rankings = {"X": ["b", "a"], "Y": ["a", "b"]}
    # {a: Y, b: X} is stable too, but it is the places' optimum.
    assert deferred_acceptance(choices, capacities, rankings) == {"a": "X", "b": "Y"}


def test_rejection_chain_and_capacities():
    choices = {"a": ["X", "Y"], "b": ["X", "Y"], "c": ["X", "Y"], "d": ["Y"]}
    capacities = {"X": 2, "Y": 1}
    rankings = {"X": ["c", "a", "b"], "Y": ["a", "b", "d", "c"]}
    result = deferred_acceptance(choices, capacities, rankings)
    assert result == {"a": "X", "b": "Y", "c": "X", "d": None}
    assert list(result) == list(choices)


def test_unknown_place_and_unranked_pairs_are_skipped():
    choices = {"a": ["nowhere", "X", "Y"], "b": ["X"]}
    capacities = {"X": 5, "Y": 5}
    rankings = {"X": ["b"], "Y": ["a", "b"]}
    assert deferred_acceptance(choices, capacities, rankings) == {"a": "Y", "b": "X"}


def test_place_missing_from_one_mapping_accepts_nobody():
    choices = {"a": ["X", "Y", "Z"]}
    # X has no ranking, Y has no capacity entry, Z is fine
    assert deferred_acceptance(choices, {"X": 1, "Z": 1}, {"Y": ["a"], "Z": ["a"]}) == {"a": "Z"}


def test_capacity_zero():
    choices = {"a": ["X", "Y"], "b": ["X"]}
    assert deferred_acceptance(choices, {"X": 0, "Y": 1}, {"X": ["a", "b"], "Y": ["a"]}) == {
        "a": "Y", "b": None}


def test_negative_capacity_rejected():
    with pytest.raises(ValueError):
        deferred_acceptance({"a": ["X"]}, {"X": -1}, {"X": ["a"]})


def test_duplicates_first_occurrence_counts():
    # a lists X twice; X ranks b twice (first occurrence: b above a)
    choices = {"a": ["X", "Y", "X"], "b": ["Y", "X", "Y"]}
    capacities = {"X": 1, "Y": 1}
    rankings = {"X": ["b", "a", "b"], "Y": ["a", "b"]}
    assert deferred_acceptance(choices, capacities, rankings) == {"a": "X", "b": "Y"}
    # b wins X against a (rank 0 vs 1), a falls back to Y which prefers a to b
    choices = {"a": ["X", "Y", "X"], "b": ["X", "Y", "X"]}
    assert deferred_acceptance(choices, capacities, rankings) == {"a": "Y", "b": "X"}


def test_student_without_choices_and_students_only_in_rankings():
    choices = {"a": [], "b": ["X"]}
    result = deferred_acceptance(choices, {"X": 1}, {"X": ["ghost", "a", "b"]})
    assert result == {"a": None, "b": "X"}


def test_tuples_and_none_ids():
    choices = {None: ("X",), 0: ("X", None)}
    capacities = {"X": 1, None: 1}
    rankings = {"X": (0, None), None: (0,)}
    assert deferred_acceptance(choices, capacities, rankings) == {None: None, 0: "X"}


def test_inputs_not_mutated():
    inst = random_instance(random.Random(3), 60, 8)
    before = copy.deepcopy(inst)
    deferred_acceptance(*inst)
    assert inst == before


@pytest.mark.parametrize("enabled", [True, False])
def test_gc_state_restored(enabled):
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        deferred_acceptance({"a": ["X"]}, {"X": 1}, {"X": ["a"]})
        assert gc.isenabled() is enabled
        with pytest.raises(TypeError):
            deferred_acceptance({"a": ["X"]}, {"X": 1}, {"X": 42})  # broken ranking
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


# --------------------------------------------------------------------------
# deferred_acceptance: properties

@PROPS
@given(instances())
def test_result_is_valid_and_stable(instance):
    result = deferred_acceptance(*instance)
    assert_stable(result, *instance)


@PROPS
@given(instances(max_students=5, max_places=3))
def test_student_optimal_by_brute_force(instance):
    choices, capacities, rankings = instance
    result = deferred_acceptance(*instance)
    students = list(choices)
    options = [[None] + [p for p in dedup(choices[s]) if acceptable(s, p, capacities, rankings)]
               for s in students]
    stable = []
    for combo in itertools.product(*options):
        candidate = dict(zip(students, combo))
        if any(n > capacities[p] for p, n in Counter(combo).items() if p is not None):
            continue
        if not naive_blocking(candidate, *instance):
            stable.append(candidate)
    assert result in stable

    def position(s, p):
        return len(choices[s]) if p is None else choices[s].index(p)

    for s in students:
        assert position(s, result[s]) == min(position(s, m[s]) for m in stable)


@PROPS
@given(instances(), st.randoms(use_true_random=False))
def test_independent_of_dict_order(instance, rng):
    result = deferred_acceptance(*instance)
    assert deferred_acceptance(*instance) == result
    other = deferred_acceptance(*shuffled(instance, rng))
    assert other == result


def test_independent_of_dict_order_medium():
    rng = random.Random(7)
    inst = random_instance(rng, 2000, 100)
    result = deferred_acceptance(*inst)
    for _ in range(3):
        assert deferred_acceptance(*shuffled(inst, rng)) == result


@settings(max_examples=100, deadline=None, database=None)
@given(instances(max_students=30, max_places=8))
def test_equals_reference_small(instance):
    assert deferred_acceptance(*instance) == reference_solve(*instance)


@pytest.mark.parametrize("n_students,n_places,messy,seed", [
    (50, 5, True, 1), (200, 10, True, 2), (200, 40, False, 3),
    (600, 30, True, 4), (1000, 50, False, 5),
])
def test_equals_reference_generated(n_students, n_places, messy, seed):
    inst = random_instance(random.Random(seed), n_students, n_places, messy)
    result = deferred_acceptance(*inst)
    with recursion_limit(20_000):
        assert result == reference_solve(*inst)
    assert_stable(result, *inst)


def test_stable_on_larger_generated_instance():
    inst = random_instance(random.Random(11), 3000, 150)
    result = deferred_acceptance(*inst)
    assert blocking_pairs(result, *inst) == []
    load = Counter(p for p in result.values() if p is not None)
    assert all(n <= inst[1][p] for p, n in load.items())


# --------------------------------------------------------------------------
# explanations

def example():
    choices = {
        "ann": ["A", "B"],
        "bob": ["A", "B"],
        "cat": ["Z", "C", "A", "A", "B"],
        "dan": ["B", "A"],
        "eve": ["C", "D"],
    }
    capacities = {"A": 1, "B": 2, "C": 0, "D": 3}
    rankings = {"A": ["ann", "bob", "cat", "dan"], "B": ["bob", "cat", "dan"], "C": ["eve"], "D": []}
    return choices, capacities, rankings


def test_example_result_and_cutoffs():
    choices, capacities, rankings = example()
    result = deferred_acceptance(choices, capacities, rankings)
    assert result == {"ann": "A", "bob": "B", "cat": "B", "dan": None, "eve": None}
    assert place_cutoffs(result, capacities, rankings) == {
        "A": Cutoff("A", 1, 1, "ann", 1),
        "B": Cutoff("B", 2, 2, "cat", 2),
        "C": Cutoff("C", 0, 0),
        "D": Cutoff("D", 3, 0),
    }
    cut = place_cutoffs(result, capacities, rankings)
    assert cut["A"].is_full and cut["A"].seats_left == 0
    assert not cut["D"].is_full and cut["D"].seats_left == 3


def test_example_reasons():
    inst = example()
    result = deferred_acceptance(*inst)
    assert explain_student("ann", result, *inst) == []
    assert explain_student("bob", result, *inst) == [
        Reason("A", 1, ReasonKind.FULL, None, 2, "ann", 1)]
    assert explain_student("cat", result, *inst) == [
        Reason("Z", 1, ReasonKind.NOT_ELIGIBLE, Ineligibility.UNKNOWN_PLACE),
        Reason("C", 2, ReasonKind.NOT_ELIGIBLE, Ineligibility.NO_SEATS),
        Reason("A", 3, ReasonKind.FULL, None, 3, "ann", 1),
    ]
    assert explain_student("dan", result, *inst) == [
        Reason("B", 1, ReasonKind.FULL, None, 3, "cat", 2),
        Reason("A", 2, ReasonKind.FULL, None, 4, "ann", 1),
    ]
    assert explain_student("eve", result, *inst) == [
        Reason("C", 1, ReasonKind.NOT_ELIGIBLE, Ineligibility.NO_SEATS, 1),
        Reason("D", 2, ReasonKind.NOT_ELIGIBLE, Ineligibility.NOT_RANKED),
    ]
    cutoffs = place_cutoffs(result, inst[1], inst[2])
    assert explain_all(result, *inst) == {
        s: explain_student(s, result, *inst, cutoffs=cutoffs) for s in inst[0]}
    with pytest.raises(KeyError):
        explain_student("zed", result, *inst)


def test_reason_and_cutoff_are_frozen():
    r = Reason("A", 1, ReasonKind.FULL, None, 2, "x", 1)
    with pytest.raises(AttributeError):
        r.place = "B"
    assert ReasonKind("not_eligible") is ReasonKind.NOT_ELIGIBLE
    assert Ineligibility("no_seats") is Ineligibility.NO_SEATS


def test_inconsistent_assignments_raise():
    choices, capacities, rankings = example()
    good = deferred_acceptance(choices, capacities, rankings)
    over = {**good, "dan": "A"}
    with pytest.raises(InconsistentAssignmentError):
        place_cutoffs(over, capacities, rankings)
    with pytest.raises(InconsistentAssignmentError):
        place_cutoffs({**good, "eve": "Q"}, capacities, rankings)  # unknown place
    with pytest.raises(InconsistentAssignmentError):
        place_cutoffs({**good, "ann": "D", "dan": None}, capacities, rankings)  # D doesn't rank ann
    with pytest.raises(InconsistentAssignmentError):
        explain_student("eve", {**good, "eve": "B"}, choices, capacities, rankings)  # B not ranked/listed
    unstable = {**good, "ann": None, "dan": "A"}  # A prefers ann, bob and cat to dan
    assert blocking_pairs(unstable, choices, capacities, rankings) == [
        ("ann", "A"), ("bob", "A"), ("cat", "A")]
    with pytest.raises(InconsistentAssignmentError):
        explain_student("ann", unstable, choices, capacities, rankings)
    assert explain_student("dan", unstable, choices, capacities, rankings) == [
        Reason("B", 1, ReasonKind.FULL, None, 3, "cat", 2)]


def test_explain_all_is_fast_enough_at_scale():
    inst = random_instance(random.Random(5), 5000, 250, messy=False)
    result = deferred_acceptance(*inst)
    reasons = explain_all(result, *inst)
    assert len(reasons) == 5000


@PROPS
@given(instances())
def test_explanations_match_definitions(instance):
    choices, capacities, rankings = instance
    result = deferred_acceptance(*instance)
    cutoffs = place_cutoffs(result, capacities, rankings)
    assert set(cutoffs) == set(capacities) | set(rankings)
    for p, cut in cutoffs.items():
        admitted = [s for s, q in result.items() if q == p]
        assert cut.capacity == capacities.get(p, 0) and cut.admitted == len(admitted)
        assert cut.is_full == (len(admitted) >= cut.capacity)
        if admitted and cut.is_full:
            ranking = list(rankings[p])
            worst = max(admitted, key=ranking.index)
            assert (cut.student, cut.rank) == (worst, ranking.index(worst) + 1)
        else:
            assert cut.student is None and cut.rank is None
    everything = explain_all(result, *instance)
    assert list(everything) == list(choices)
    for s, reasons in everything.items():
        wanted = dedup(choices[s])
        above = wanted[:wanted.index(result[s])] if result[s] is not None else wanted
        assert [r.place for r in reasons] == above
        for r in reasons:
            assert choices[s].index(r.place) + 1 == r.choice
            ranking = list(rankings.get(r.place, ()))
            own_rank = ranking.index(s) + 1 if s in ranking else None
            if r.kind is ReasonKind.NOT_ELIGIBLE:
                assert not acceptable(s, r.place, capacities, rankings)
                expected = (Ineligibility.UNKNOWN_PLACE if r.place not in capacities and r.place not in rankings
                            else Ineligibility.NO_SEATS if capacities.get(r.place, 0) <= 0
                            else Ineligibility.NOT_RANKED)
                assert r.ineligibility is expected
                assert r.cutoff_rank is None and r.cutoff_student is None
            else:
                assert r.kind is ReasonKind.FULL and r.ineligibility is None
                assert r.student_rank == own_rank
                cut = cutoffs[r.place]
                assert cut.is_full and (r.cutoff_student, r.cutoff_rank) == (cut.student, cut.rank)
                assert r.cutoff_rank < r.student_rank
        assert explain_student(s, result, *instance) == reasons
    assert blocking_pairs(result, *instance) == []


@PROPS
@given(instances(), st.randoms(use_true_random=False))
def test_blocking_pairs_on_arbitrary_valid_assignments(instance, rng):
    choices, capacities, rankings = instance
    load = Counter()
    assignment = {}
    for s, wanted in choices.items():
        options = [p for p in dedup(wanted)
                   if acceptable(s, p, capacities, rankings) and load[p] < capacities[p]]
        p = rng.choice(options + [None])
        assignment[s] = p
        if p is not None:
            load[p] += 1
    expected = naive_blocking(assignment, *instance)
    assert blocking_pairs(assignment, *instance) == expected
    blocked = {s for s, _ in expected}
    for s in choices:
        if s in blocked:
            with pytest.raises(InconsistentAssignmentError):
                explain_student(s, assignment, *instance)
        else:
            explain_student(s, assignment, *instance)
