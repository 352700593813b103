"""The input and the runs: from the database to the algorithm's plain input, and the stored run.

How a run is made (:func:`run_matching`)
----------------------------------------
The input is built with a handful of set-based queries (no query per application):

* students: round 1 takes the call's ``eligible`` applications; later rounds take the ``waitlisted`` ones (and
  any found eligible since);
* each student's list: their ranked choices, keeping only the places whose conditions they meet (the call's
  rules and the place's subject area, level and languages, ``exchange.applications.eligibility``);
* seats: round 1 offers every place's seats; later rounds offer the seats not held by a placed or accepted
  student (declined and expired offers, and withdrawals, free their seats), so nobody who holds a place moves;
* each place ranks the students who chose it by score (highest first; unscored last), ties broken by the
  earlier submission, then by the lower application id (:func:`models.rank_key`).

``exchange.matching.deferred_acceptance`` computes the student-optimal stable matching; ``place_cutoffs``
gives each full place's cut-off. The run, its places and one row per student are stored with bulk inserts.
"""
from __future__ import annotations

import functools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..core.i18n import gettext as _
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload, selectinload

from ..applications import eligibility as rules
from ..applications import services as app_services
from ..applications.models import Application, ApplicationChoice, Call, CallPlace, LanguageSkill, join_partner
from ..applications.workflow import ApplicationStatus as S
from ..auth.models import User
from ..core import audit
from ..core.errors import WorkflowError
from ..core.pagination import RowsPage, page_limit, page_offset
from ..extensions import db
from ..matching import deferred_acceptance, place_cutoffs
from ..partners.models import CooperationCondition, PartnerInstitution
from .models import (RUN_RANKING, ManualAdjustment, MatchingRun, RunPlace, RunPlacement, RunStatus, UnplacedReason,
                     rank_key)


#: Statuses in which an application holds its seat.
HOLDING = (S.placed, S.accepted)


def places_by_id(call: Call) -> dict[int, CallPlace]:
    """{place id: place} of the call, loaded as ``applications.services.load_places`` loads them (in no order)."""
    places = db.session.scalars(select(CallPlace).where(CallPlace.call_id == call.id)
                                .options(*app_services.place_loader())).all()
    return {p.id: p for p in places}


# --- The input ------------------------------------------------------------------------------------

@dataclass
class MatchingInput:
    round: int
    choices: dict[int, list[int]] = field(default_factory=dict)      # application → eligible places, best first
    capacities: dict[int, int] = field(default_factory=dict)         # place → seats
    rankings: dict[int, list[int]] = field(default_factory=dict)     # place → applications, best first
    snapshot: dict[int, list[dict]] = field(default_factory=dict)    # application → every choice, with reasons
    scores: dict[int, Decimal | None] = field(default_factory=dict)
    submitted: dict[int, datetime | None] = field(default_factory=dict)
    unscored: int = 0
    eligible_pairs: int = 0
    ineligible_pairs: int = 0


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _reason_json(reason: rules.Reason) -> dict:
    return {"code": reason.code.value, "params": _jsonable(dict(reason.params))}


def matchable_statuses(round_no: int) -> list[S]:
    """Round 1: the eligible applications. Later rounds: the waiting list, and any application found eligible
    since (a review reopened and decided late)."""
    return [S.eligible] if round_no == 1 else [S.waitlisted, S.eligible]


def next_round(call: Call) -> int:
    last = db.session.scalar(select(func.max(MatchingRun.round)).where(
        MatchingRun.call_id == call.id, MatchingRun.status == RunStatus.published))
    return (last or 0) + 1


def free_seats(call: Call) -> dict[int, int]:
    """Place id → seats not held by a placed or accepted student of the call."""
    seats = db.session.execute(select(CallPlace.id, CallPlace.seats).where(CallPlace.call_id == call.id)).all()
    held = dict(db.session.execute(
        select(Application.placed_place_id, func.count(Application.id))
        .where(Application.call_id == call.id, Application.status.in_(HOLDING),
               Application.placed_place_id.is_not(None))
        .group_by(Application.placed_place_id)).all())
    return {place_id: max(0, n - held.get(place_id, 0)) for place_id, n in seats}


def build_input(call: Call, round_no: int) -> MatchingInput:
    """The plain data for the algorithm, from four queries whatever the number of applications."""
    data = MatchingInput(round=round_no)
    where = (Application.call_id == call.id, Application.status.in_(matchable_statuses(round_no)))
    rows = db.session.execute(select(Application.id, Application.score, Application.submitted_at,
                                     Application.isced_code, Application.eqf_level, Application.gpa_normalised)
                              .where(*where)).all()
    languages: dict[int, dict[str, str]] = defaultdict(dict)
    for app_id, language, level in db.session.execute(
            select(LanguageSkill.application_id, LanguageSkill.language, LanguageSkill.cefr_level)
            .join(Application, Application.id == LanguageSkill.application_id).where(*where)):
        languages[app_id][language] = level
    chosen: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for app_id, place_id, rank in db.session.execute(
            select(ApplicationChoice.application_id, ApplicationChoice.place_id, ApplicationChoice.rank)
            .join(Application, Application.id == ApplicationChoice.application_id).where(*where)
            .order_by(ApplicationChoice.application_id, ApplicationChoice.rank)):
        chosen[app_id].append((place_id, rank))
    places = places_by_id(call)
    place_rules = {pid: app_services.place_rules_of(p) for pid, p in places.items()}
    call_rules = app_services.call_rules_of(call)
    data.capacities = {pid: p.seats for pid, p in places.items()} if round_no == 1 else free_seats(call)
    data.rankings = {pid: [] for pid in places}

    # Many students share a profile (field, level, languages): check each profile against a place once.
    place_checks: dict[tuple, list] = {}
    for row in sorted(rows, key=lambda r: rank_key(r.score, r.submitted_at, r.id)):
        skills = languages.get(row.id, {})
        candidate = rules.Candidate(isced_code=row.isced_code, eqf_level=row.eqf_level, gpa=row.gpa_normalised,
                                    languages=skills)
        call_reasons = rules.call_reasons(candidate, call_rules)
        profile = (row.isced_code, row.eqf_level, tuple(sorted(skills.items())))
        eligible, snapshot = [], []
        for place_id, rank in chosen.get(row.id, ()):
            if place_id in place_rules:
                key = (profile, place_id)
                found = place_checks.get(key)
                if found is None:
                    found = place_checks[key] = rules.place_reasons(candidate, place_rules[place_id])
                reasons = call_reasons + found
            else:  # not a place of this call (cannot be saved through the services)
                reasons = call_reasons
            ok = place_id in place_rules and not reasons
            snapshot.append({"place": place_id, "rank": rank, "eligible": ok,
                             "reasons": [_reason_json(r) for r in reasons]})
            if ok:
                eligible.append(place_id)
                data.rankings[place_id].append(row.id)
                data.eligible_pairs += 1
            else:
                data.ineligible_pairs += 1
        data.choices[row.id] = eligible
        data.snapshot[row.id] = snapshot
        data.scores[row.id] = row.score
        data.submitted[row.id] = row.submitted_at
        if row.score is None:
            data.unscored += 1
    return data


# --- Runs -----------------------------------------------------------------------------------------

def run_matching(call: Call, by: User, progress=None) -> MatchingRun:
    """Place the call's students (the next round) and store the result as a draft run.

    `progress(step)` is called as each of the three steps ends: 1 input read, 2 solved, 3 saved (a job's page)."""
    started = time.perf_counter()
    progress = progress or (lambda step: None)
    round_no = next_round(call)
    data = build_input(call, round_no)
    progress(1)
    if not data.choices:
        raise WorkflowError(_("There are no eligible applications to place in this call.") if round_no == 1
                            else _("Nobody is on the waiting list of this call."), code="no-applications")
    if not data.capacities:
        raise WorkflowError(_("This call offers no destinations."), code="no-places")
    if round_no > 1 and not any(data.capacities.values()):
        raise WorkflowError(_("No seat has been freed since the last round: there is nothing to offer."),
                            code="no-seats")
    assignment = deferred_acceptance(data.choices, data.capacities, data.rankings)
    cutoffs = place_cutoffs(assignment, data.capacities, data.rankings)
    progress(2)

    run = MatchingRun(call_id=call.id, round=round_no, status=RunStatus.draft, created_by_id=by.id,
                      applications_count=len(data.choices), unscored_count=data.unscored,
                      places_count=len(data.capacities), seats_count=sum(data.capacities.values()),
                      eligible_pairs_count=data.eligible_pairs, ineligible_pairs_count=data.ineligible_pairs)
    db.session.add(run)
    db.session.flush()

    place_rows = []
    for place_id, capacity in data.capacities.items():
        cut = cutoffs[place_id]
        place_rows.append({"run_id": run.id, "place_id": place_id, "capacity": capacity, "filled": cut.admitted,
                           "cutoff_application_id": cut.student,
                           "cutoff_score": data.scores.get(cut.student) if cut.student is not None else None})
    by_choice: Counter = Counter()
    placement_rows = []
    for app_id, eligible in data.choices.items():
        place_id = assignment[app_id]
        rank = None
        if place_id is not None:
            rank = next(c["rank"] for c in data.snapshot[app_id] if c["place"] == place_id)
            by_choice[rank] += 1
        reason = None
        if place_id is None:
            reason = UnplacedReason.full if eligible else UnplacedReason.no_eligible_choice
        placement_rows.append({"run_id": run.id, "application_id": app_id, "place_id": place_id,
                               "choice_rank": rank, "score": data.scores[app_id],
                               "submitted_at": data.submitted[app_id], "choices": data.snapshot[app_id],
                               "reason": reason, "adjusted": False})
    # Core executemany: one statement for all rows (the ORM bulk insert splits rows by their missing values).
    db.session.execute(RunPlace.__table__.insert(), place_rows)
    db.session.execute(RunPlacement.__table__.insert(), placement_rows)
    run.placed_count = sum(by_choice.values())
    run.stats = {"by_choice": {str(k): v for k, v in sorted(by_choice.items())}, "outside_choices": 0}
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    db.session.flush()
    audit.record("matching_run", user=by, detail=f"call {call.id} round {round_no}: run {run.id}, "
                                                 f"{run.placed_count}/{run.applications_count} placed")
    progress(3)
    return run


def refresh_stats(run: MatchingRun) -> None:
    counts = dict(db.session.execute(select(RunPlacement.choice_rank, func.count(RunPlacement.id))
                                     .where(RunPlacement.run_id == run.id, RunPlacement.place_id.is_not(None))
                                     .group_by(RunPlacement.choice_rank)).all())
    outside = counts.pop(None, 0)
    run.placed_count = sum(counts.values()) + outside
    run.stats = {"by_choice": {str(k): v for k, v in sorted(counts.items())}, "outside_choices": outside}
    db.session.flush()


def refresh_run_place(run: MatchingRun, place_id: int) -> None:
    """Recount a place of a run after a manual move: seats filled and the cut-off when full."""
    run_place = db.session.scalar(select(RunPlace).where(RunPlace.run_id == run.id, RunPlace.place_id == place_id))
    rows = db.session.execute(select(RunPlacement.application_id, RunPlacement.score, RunPlacement.submitted_at)
                              .where(RunPlacement.run_id == run.id, RunPlacement.place_id == place_id)).all()
    run_place.filled = len(rows)
    worst = max(rows, key=lambda r: rank_key(r.score, r.submitted_at, r.application_id)) if rows else None
    if worst is not None and len(rows) >= run_place.capacity:
        run_place.cutoff_application_id, run_place.cutoff_score = worst.application_id, worst.score
    else:
        run_place.cutoff_application_id, run_place.cutoff_score = None, None
    db.session.flush()


def runs_of(call: Call) -> list[MatchingRun]:
    return list(db.session.scalars(select(MatchingRun).where(MatchingRun.call_id == call.id)
                                   .options(joinedload(MatchingRun.created_by), joinedload(MatchingRun.published_by))
                                   .order_by(MatchingRun.created_at.desc(), MatchingRun.id.desc())))


def run_places(run: MatchingRun) -> list[RunPlace]:
    """The run's destinations, with their place, agreement and partner, in destination order."""
    rows = db.session.scalars(select(RunPlace).where(RunPlace.run_id == run.id)
                              .options(selectinload(RunPlace.place).options(*app_services.place_loader()))).all()
    return sorted(rows, key=lambda r: (r.place.partner.country, r.place.partner.name, r.place.condition.isced_code,
                                       r.place_id))


# The run page's lists: a page of plain rows each, from statements built once per process (core.pagination.RowsPage).

def run_places_page(run: MatchingRun, per_page: int) -> RowsPage:
    """A page of the run's destinations in destination order (partner's country and name, field, place), as rows
    of place_id, capacity, filled, cutoff_score, partner_name, partner_city, partner_country, isced_code and
    eqf_levels (text, e.g. "6,7")."""
    return RowsPage(statement=_run_places_statement(), params={"run_id": run.id}, total=run.places_count,
                    per_page=per_page, error_out=False)


@functools.cache
def _run_places_statement():
    return (join_partner(select(RunPlace.place_id, RunPlace.capacity, RunPlace.filled, RunPlace.cutoff_score,
                                PartnerInstitution.name.label("partner_name"),
                                PartnerInstitution.city.label("partner_city"),
                                PartnerInstitution.country.label("partner_country"), CooperationCondition.isced_code,
                                CooperationCondition.eqf_levels), RunPlace.place_id)
            .where(RunPlace.run_id == bindparam("run_id"))
            .order_by(PartnerInstitution.country, PartnerInstitution.name, CooperationCondition.isced_code,
                      RunPlace.place_id)
            .limit(page_limit()).offset(page_offset()))


def run_place_of(run: MatchingRun, place_id: int):
    """One destination of the run as a row of filled, partner_name and isced_code (None if not in the run)."""
    return db.session.execute(_run_place_statement(), {"run_id": run.id, "place_id": place_id}).first()


@functools.cache
def _run_place_statement():
    return (join_partner(select(RunPlace.filled, PartnerInstitution.name.label("partner_name"),
                                CooperationCondition.isced_code), RunPlace.place_id)
            .where(RunPlace.run_id == bindparam("run_id"), RunPlace.place_id == bindparam("place_id")))


def run_placements_page(run: MatchingRun, placed: bool, per_page: int, place_id: int | None = None,
                        place=None) -> RowsPage:
    """A page of the run's placed (at `place_id`, whose `run_place_of` row is `place`, or anywhere) or unplaced
    students, best ranked first, as rows of id, application_id, place_id, choice_rank, score, submitted_at, reason,
    adjusted, full_name, student_name; placed rows add partner_name and isced_code, unplaced ones choices (the
    snapshot, for its eligible choices). The totals are the run's own counts."""
    params = {"run_id": run.id}
    if not placed:
        total = run.unplaced_count
    elif place_id:
        total = place.filled if place is not None else 0
        params["place_id"] = place_id
    else:
        total = run.placed_count
    return RowsPage(statement=_run_placements_statement(placed, bool(placed and place_id)), params=params,
                    total=total, per_page=per_page, error_out=False)


@functools.cache
def _run_placements_statement(placed: bool, at_place: bool):
    columns = [RunPlacement.id, RunPlacement.application_id, RunPlacement.place_id, RunPlacement.choice_rank,
               RunPlacement.score, RunPlacement.submitted_at, RunPlacement.reason, RunPlacement.adjusted,
               Application.full_name, User.name.label("student_name")]
    if placed:
        columns += [PartnerInstitution.name.label("partner_name"), CooperationCondition.isced_code]
    else:
        columns.append(RunPlacement.choices)
    query = (select(*columns).join(Application, Application.id == RunPlacement.application_id)
             .join(User, User.id == Application.student_id).where(RunPlacement.run_id == bindparam("run_id")))
    if placed:
        query = join_partner(query, RunPlacement.place_id)
        if at_place:
            query = query.where(RunPlacement.place_id == bindparam("place_id"))
    else:
        query = query.where(RunPlacement.place_id.is_(None))
    # The places' ranking (models.RUN_RANKING), read in order from ix_matching_run_placements_rank on PostgreSQL.
    return (query.order_by(*RUN_RANKING)
            .limit(page_limit()).offset(page_offset()))


def adjustments_of(run: MatchingRun) -> list[ManualAdjustment]:
    return list(db.session.scalars(
        select(ManualAdjustment).where(ManualAdjustment.run_id == run.id)
        .options(joinedload(ManualAdjustment.application), joinedload(ManualAdjustment.by),
                 joinedload(ManualAdjustment.from_place).options(*app_services.place_loader()),
                 joinedload(ManualAdjustment.to_place).options(*app_services.place_loader()))
        .order_by(ManualAdjustment.at.desc(), ManualAdjustment.id.desc())))
