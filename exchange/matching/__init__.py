"""Placement of students into exchange places (plain Python, no Flask).

    from exchange.matching import deferred_acceptance
    assignment = deferred_acceptance(choices, capacities, rankings)
"""
from .algorithm import deferred_acceptance
from .explain import (
    Cutoff,
    InconsistentAssignmentError,
    Ineligibility,
    Reason,
    ReasonKind,
    blocking_pairs,
    explain_all,
    explain_student,
    place_cutoffs,
)

__all__ = [
    "Cutoff",
    "InconsistentAssignmentError",
    "Ineligibility",
    "Reason",
    "ReasonKind",
    "blocking_pairs",
    "deferred_acceptance",
    "explain_all",
    "explain_student",
    "place_cutoffs",
]
