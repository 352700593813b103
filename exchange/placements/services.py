"""Matching runs, offers, nominations and factsheets: plain functions over the models.

No request, no flash: services mutate, flush, and raise WorkflowError when a rule forbids the action.
The caller commits.

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

Public API for other domains
----------------------------
* ``placement_summary(application)`` – for an accepted (and nominated) application: partner, place, field,
  level, academic year, period, planned arrival and departure, nomination status; None when not placed.
* ``active_nomination(application)`` / ``nominations_by_application(ids)`` – the Nomination rows.
* ``student_outcome(application)`` – what the student sees: score, and per choice why (not) obtained.
"""
from __future__ import annotations

import functools
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from ..core.i18n import format_datetime
from ..core.i18n import gettext as _
from sqlalchemy import and_, bindparam, event, false, func, literal, select, true, update
from sqlalchemy.orm import Session, joinedload, selectinload

from ..applications import access as app_access
from ..applications import eligibility as rules
from ..applications import services as app_services
from ..applications.labels import describe_reasons
from ..applications.models import (Application, ApplicationChoice, ApplicationDocument, ApplicationStatusCount, Call,
                                   CallPeriod, CallPlace, DocumentKind, LanguageSkill, StatusChange, join_partner)
from ..applications.workflow import Actor
from ..applications.workflow import ApplicationStatus as S
from ..auth.models import Role, User
from ..core import audit, mail
from ..core.errors import WorkflowError
from ..core.pagination import RowsPage, page_limit, page_offset
from ..core.types import utcnow
from ..extensions import db
from ..matching import deferred_acceptance, place_cutoffs
from ..partners.models import CooperationCondition, PartnerInstitution
from .models import (ACTIVE_NOMINATION, ManualAdjustment, MatchingRun, Nomination, NominationStatus, Offer,
                     OfferStatus, PartnerFactsheet, RunPlace, RunPlacement, RunStatus, UnplacedReason,
                     kinds_to_text, rank_key)

#: Statuses in which an application holds its seat.
log = logging.getLogger(__name__)
HOLDING = (S.placed, S.accepted)
REASON_MAX = 1000
MAX_DEADLINE_DAYS = 90
MAX_STAY_DAYS = 400


def _fmt(value) -> str:
    return format_datetime(value, "medium") if value else ""


def _fmt_for(user: User, value) -> str:
    return app_services.format_for(user, value)


def place_name(place: CallPlace) -> str:
    """A destination in a few words (stored in warnings, shown in lists): partner – ISCED code."""
    return f"{place.partner.name} – {place.condition.isced_code}"


def load_places(call: Call) -> dict[int, CallPlace]:
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
    places = load_places(call)
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
    # The places' ranking (models.rank_key), read in order from ix_matching_run_placements_rank on PostgreSQL.
    return (query.order_by(RunPlacement.score.desc().nulls_last(), RunPlacement.submitted_at,
                           RunPlacement.application_id)
            .limit(page_limit()).offset(page_offset()))


def adjustments_of(run: MatchingRun) -> list[ManualAdjustment]:
    return list(db.session.scalars(
        select(ManualAdjustment).where(ManualAdjustment.run_id == run.id)
        .options(joinedload(ManualAdjustment.application), joinedload(ManualAdjustment.by),
                 joinedload(ManualAdjustment.from_place).options(*app_services.place_loader()),
                 joinedload(ManualAdjustment.to_place).options(*app_services.place_loader()))
        .order_by(ManualAdjustment.at.desc(), ManualAdjustment.id.desc())))


# --- Manual adjustments ---------------------------------------------------------------------------

class NeedsConfirmation(WorkflowError):
    """The move has warnings: the coordinator must confirm it (``warnings`` as stored)."""

    def __init__(self, warnings: list[dict]):
        super().__init__(_("Check the warnings, then confirm the move if you still want it."),
                         code="confirm", field="confirm", status=422)
        self.warnings = warnings


NAMES_SHOWN = 5


def _names(placements: list[RunPlacement]) -> dict:
    placements = sorted(placements, key=lambda p: p.rank_key())
    names = [p.application.full_name or f"#{p.application_id}" for p in placements[:NAMES_SHOWN]]
    return {"names": names, "more": max(0, len(placements) - NAMES_SHOWN)}


def _wanting(run: MatchingRun, place_id: int, exclude: int) -> list[RunPlacement]:
    """Students of the run who chose the place (eligibly) and are not placed there."""
    rows = db.session.scalars(
        select(RunPlacement).join(ApplicationChoice, ApplicationChoice.application_id == RunPlacement.application_id)
        .where(RunPlacement.run_id == run.id, ApplicationChoice.place_id == place_id, RunPlacement.id != exclude)
        .options(joinedload(RunPlacement.application))).unique().all()
    result = []
    for row in rows:
        choice = row.choice(place_id)
        if choice is None or not choice["eligible"] or row.place_id == place_id:
            continue
        if row.place_id is None or (row.choice_rank or 10 ** 6) > choice["rank"]:
            result.append(row)
    return result


def adjustment_warnings(run: MatchingRun, placement: RunPlacement, to_place_id: int | None,
                        places: dict[int, CallPlace]) -> list[dict]:
    warnings = []
    run_place = {rp.place_id: rp for rp in run.places}
    if to_place_id is not None:
        target = run_place[to_place_id]
        name = place_name(places[to_place_id])
        if target.filled + 1 > target.capacity:
            warnings.append({"code": "over_capacity", "params": {"place": name, "filled": target.filled + 1,
                                                                  "seats": target.capacity}})
        choice = placement.choice(to_place_id)
        if choice is None:
            warnings.append({"code": "not_chosen", "params": {"place": name}})
        elif not choice["eligible"]:
            warnings.append({"code": "not_eligible", "params": {"place": name}})
        mine = placement.rank_key()
        left_out = [p for p in _wanting(run, to_place_id, placement.id) if p.rank_key() < mine]
        if left_out:
            warnings.append({"code": "unfair", "params": {"place": name, **_names(left_out)}})
    if placement.place_id is not None:
        source = run_place[placement.place_id]
        if source.filled - 1 < source.capacity:
            waiting = _wanting(run, placement.place_id, placement.id)
            if waiting:
                warnings.append({"code": "seat_left_free",
                                 "params": {"place": place_name(places[placement.place_id]), **_names(waiting)}})
    return warnings


def move_placement(run: MatchingRun, placement: RunPlacement, to_place_id: int | None, reason: str, by: User,
                   confirm: bool = False) -> ManualAdjustment:
    """Move a student of a draft run to another place (None: no place). Warnings need `confirm`."""
    if run.status is not RunStatus.draft:
        raise WorkflowError(_("A published run cannot be changed."), code="not-draft", status=409)
    if placement.run_id != run.id:
        raise WorkflowError(_("This student is not part of this run."), status=404)
    places = load_places(run.call)
    if to_place_id is not None and to_place_id not in places:
        raise WorkflowError(_("Choose a destination of this call."), code="bad-place", field="place")
    if to_place_id == placement.place_id:
        raise WorkflowError(_("The student is already there."), code="same-place", field="place")
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(_("Say why you make this change."), code="no-reason", field="reason")
    if len(reason) > REASON_MAX:
        raise WorkflowError(_("Use at most %(max)d characters.", max=REASON_MAX), code="too-long", field="reason")
    warnings = adjustment_warnings(run, placement, to_place_id, places)
    if warnings and not confirm:
        raise NeedsConfirmation(warnings)
    from_place_id = placement.place_id
    choice = placement.choice(to_place_id) if to_place_id is not None else None
    placement.place_id = to_place_id
    placement.choice_rank = choice["rank"] if choice else None
    placement.reason = None if to_place_id is not None else UnplacedReason.adjusted
    placement.adjusted = True
    adjustment = ManualAdjustment(run_id=run.id, placement_id=placement.id, application_id=placement.application_id,
                                  from_place_id=from_place_id, to_place_id=to_place_id, by_id=by.id, reason=reason,
                                  warnings=warnings)
    db.session.add(adjustment)
    run.adjustments_count = (run.adjustments_count or 0) + 1
    db.session.flush()
    for place_id in (from_place_id, to_place_id):
        if place_id is not None:
            refresh_run_place(run, place_id)
    refresh_stats(run)
    audit.record("matching_adjusted", user=by, detail=f"run {run.id}: application {placement.application_id} "
                                                      f"{from_place_id} -> {to_place_id}; {len(warnings)} warnings")
    return adjustment


# --- Comparing two runs ---------------------------------------------------------------------------

@dataclass
class Comparison:
    places: list[dict]
    moved: list[tuple[RunPlacement, RunPlacement | None]]
    by_choice: list[tuple[int, int, int]]
    same: int


def compare_runs(a: MatchingRun, b: MatchingRun, limit: int = 500) -> Comparison:
    """Side by side: each destination's seats filled and cut-off, the students placed differently."""
    if a.call_id != b.call_id:
        raise WorkflowError(_("Only runs of the same call can be compared."), code="other-call")
    a_places = {rp.place_id: rp for rp in run_places(a)}
    b_places = {rp.place_id: rp for rp in run_places(b)}
    places = []
    for place_id, rp in a_places.items():
        other = b_places.get(place_id)
        places.append({"place": rp.place, "a": rp, "b": other})
    for place_id, rp in b_places.items():
        if place_id not in a_places:
            places.append({"place": rp.place, "a": None, "b": rp})
    with_place = selectinload(RunPlacement.place).options(*app_services.place_loader())
    b_rows = {r.application_id: r for r in db.session.scalars(
        select(RunPlacement).where(RunPlacement.run_id == b.id).options(with_place))}
    moved, same = [], 0
    a_rows = db.session.scalars(select(RunPlacement).where(RunPlacement.run_id == a.id)
                                .options(joinedload(RunPlacement.application), with_place)
                                .order_by(RunPlacement.score.is_(None), RunPlacement.score.desc(),
                                          RunPlacement.application_id)).all()
    for row in a_rows:
        other = b_rows.get(row.application_id)
        if other is not None and other.place_id == row.place_id:
            same += 1
        elif len(moved) < limit:
            moved.append((row, other))
    a_counts, b_counts = dict(a.by_choice()), dict(b.by_choice())
    ranks = sorted(set(a_counts) | set(b_counts))
    by_choice = [(rank, a_counts.get(rank, 0), b_counts.get(rank, 0)) for rank in ranks]
    return Comparison(places=places, moved=moved, by_choice=by_choice, same=same)


# --- Publishing and offers ------------------------------------------------------------------------

def check_publishable(run: MatchingRun, deadline: datetime | None, now: datetime | None = None) -> None:
    """The rules of :func:`publish_run`, checked before anything changes (the page checks them before it starts
    the publication's job; the job checks them again)."""
    now = now or utcnow()
    call = run.call
    if run.status is not RunStatus.draft:
        raise WorkflowError(_("This run has already been published or replaced by another one."), code="not-draft",
                            status=409)
    if call.closes_at > now:
        raise WorkflowError(_("The call is open until %(date)s: publish its results after the deadline.",
                              date=_fmt(call.closes_at)), code="call-open")
    if deadline is None or deadline <= now + timedelta(hours=1):
        raise WorkflowError(_("Give the students at least an hour to answer."), code="deadline", field="deadline")
    if deadline > now + timedelta(days=MAX_DEADLINE_DAYS):
        raise WorkflowError(_("The deadline can be at most %(days)s days from now.", days=MAX_DEADLINE_DAYS),
                            code="deadline", field="deadline")
    if next_round(call) != run.round:
        raise WorkflowError(_("Round %(round)s of this call has already been published. Start a new run.",
                              round=run.round), code="stale", status=409)
    current = set(db.session.scalars(select(Application.id).where(
        Application.call_id == call.id, Application.status.in_(matchable_statuses(run.round)))))
    in_run = set(db.session.scalars(select(RunPlacement.application_id).where(RunPlacement.run_id == run.id)))
    if current != in_run:
        raise WorkflowError(_("Applications have changed since this run was made (%(n)s added or removed). "
                              "Start a new run.", n=len(current ^ in_run)), code="stale", status=409)


@dataclass
class Publication:
    offers: list[Offer]
    others: list[tuple[Application, S]]  # the students without a place: waitlisted or not placed


def publish_run(run: MatchingRun, deadline: datetime, by: User, now: datetime | None = None,
                notify: bool = True) -> list[Offer]:
    """Send the results: placed students get an offer to answer by `deadline`; in round 1 the others go on the
    waiting list (or are not placed when none of their choices could take them)."""
    publication = save_publication(run, deadline, by, now)
    if notify:
        notify_publication(run.call, publication)
    return publication.offers


def save_publication(run: MatchingRun, deadline: datetime, by: User, now: datetime | None = None,
                     progress=None) -> Publication:
    """:func:`publish_run` without the e-mails (:func:`notify_publication` sends them once this is committed).
    `progress(n)` is called as the students are done."""
    now = now or utcnow()
    call = run.call
    check_publishable(run, deadline, now)
    done = db.session.execute(update(MatchingRun).where(MatchingRun.id == run.id,
                                                        MatchingRun.status == RunStatus.draft)
                              .values(status=RunStatus.published, published_at=now, published_by_id=by.id,
                                      offer_deadline=deadline))
    if done.rowcount != 1:
        raise WorkflowError(_("This run has already been published or replaced by another one."), code="not-draft",
                            status=409)
    db.session.execute(update(MatchingRun).where(MatchingRun.call_id == call.id, MatchingRun.id != run.id,
                                                 MatchingRun.status == RunStatus.draft)
                       .values(status=RunStatus.superseded), execution_options={"synchronize_session": False})
    db.session.refresh(run)

    places = load_places(call)
    placements = db.session.scalars(select(RunPlacement).where(RunPlacement.run_id == run.id)
                                    .options(joinedload(RunPlacement.application).joinedload(Application.student))
                                    .order_by(RunPlacement.id)).all()
    publication = Publication(offers=[], others=[])
    for n, row in enumerate(placements, 1):
        application = row.application
        if row.place_id is not None:
            app_services.set_placement(application, places[row.place_id])
            app_services.transition(application, S.placed, by=by, actor=Actor.system, notify=False)
            offer = Offer(application_id=application.id, run_id=run.id, place_id=row.place_id, round=run.round,
                          deadline=deadline, status=OfferStatus.offered, created_at=now)
            offer.application = application
            offer.place = places[row.place_id]
            db.session.add(offer)
            publication.offers.append(offer)
        elif application.status is S.eligible:  # round 1, or found eligible after it
            target = S.waitlisted if any(c["eligible"] for c in row.choices or ()) else S.not_placed
            app_services.transition(application, target, by=by, actor=Actor.system, notify=False)
            publication.others.append((application, target))
        if progress is not None:
            progress(n)
    db.session.flush()
    audit.record("matching_published", user=by, detail=f"run {run.id}: {len(publication.offers)} offers, "
                                                       f"deadline {deadline:%Y-%m-%d %H:%M}")
    return publication


def notify_publication(call: Call, publication: Publication, progress=None) -> None:
    """One e-mail per student of a published run: the offer, the waiting list or no place. The run is published
    before they go out, so a message that cannot be sent is logged and the others still go. `progress(n)` is
    called after each."""
    def send(n: int, template: str, application: Application, **context) -> None:
        student = application.student
        try:
            mail.send_template(student.email, template, locale=student.locale, student=student,
                               application=application, call=call,
                               link=mail.external_url("placements.offer", application_id=application.id), **context)
        except Exception as exc:  # the run is published: one bad address must not leave the others uninformed
            log.error("Could not send the %s mail for application %s: %s", template, application.id, exc)
        if progress is not None:
            progress(n)

    n = 0
    for n, offer in enumerate(publication.offers, start=1):
        send(n, "placement_offer", offer.application, place=offer.place,
             deadline=_fmt_for(offer.application.student, offer.deadline))
    for n, (application, target) in enumerate(publication.others, start=n + 1):
        send(n, "placement_waitlisted" if target is S.waitlisted else "placement_not_placed", application)


def expire_offers(now: datetime | None = None, call: Call | None = None, notify: bool = True) -> int:
    """Offers past their deadline without an answer expire: the application is declined (by the system) and the
    seat is free for the next round. Returns how many expired."""
    now = now or utcnow()
    query = (select(Offer).where(Offer.status == OfferStatus.offered, Offer.deadline < now)
             .options(joinedload(Offer.application).joinedload(Application.student),
                      joinedload(Offer.application).joinedload(Application.call)))
    if call is not None:
        query = query.join(Offer.application).where(Application.call_id == call.id)
    expired = db.session.scalars(query.order_by(Offer.id)).unique().all()
    for offer in expired:
        offer.status = OfferStatus.expired
        offer.responded_at = now
        application = offer.application
        if application.status is S.placed:
            app_services.transition(application, S.declined, by=None, actor=Actor.system, notify=False,
                                    comment=_("The offer expired without an answer."))
    db.session.flush()
    for offer in expired if notify else ():
        student = offer.application.student
        mail.send_template(student.email, "placement_expired", locale=student.locale, student=student,
                           application=offer.application, call=offer.application.call,
                           link=mail.external_url("placements.offer", application_id=offer.application_id))
    if expired:
        audit.record("offers_expired", user=None, detail=f"{len(expired)} offers")
    return len(expired)


def expire_due_offers_of(call: Call) -> int:
    """`expire_offers` for one call, run when its pages are opened: a look at the index of due offers first, so
    that the usual case (nothing due) costs one small statement."""
    if db.session.execute(_due_offer_statement(), {"call_id": call.id, "now": utcnow()}).first() is None:
        return 0
    return expire_offers(call=call)


@functools.cache
def _due_offer_statement():
    return (select(Offer.id).join(Application, Application.id == Offer.application_id)
            .where(Offer.status == OfferStatus.offered, Offer.deadline < bindparam("now"),
                   Application.call_id == bindparam("call_id")).limit(1))


def latest_offer(application: Application) -> Offer | None:
    return db.session.scalar(select(Offer).where(Offer.application_id == application.id)
                             .options(selectinload(Offer.place).options(*app_services.place_loader()))
                             .order_by(Offer.created_at.desc(), Offer.id.desc()).limit(1))


def _check_kinds(application: Application, kinds) -> list[DocumentKind]:
    present = {d.kind for d in application.documents}
    result = []
    for kind in kinds or ():
        try:
            kind = DocumentKind(kind)
        except ValueError:
            raise WorkflowError(_("Choose documents from the list."), code="bad-document", field="documents")
        if kind not in present:
            raise WorkflowError(_("Choose documents from the list."), code="bad-document", field="documents")
        result.append(kind)
    return result


def respond_to_offer(offer: Offer, accept: bool, by: User, shared=(), now: datetime | None = None,
                     notify: bool = True) -> None:
    """The student accepts (sharing the chosen documents with the partner) or declines the offer."""
    now = now or utcnow()
    application = offer.application
    if by.id != application.student_id:
        raise WorkflowError(_("Only the applicant can do this."), code="not-owner", status=403)
    if offer.status is not OfferStatus.offered:
        raise WorkflowError(_("This offer has already been answered or has expired."), code="answered", status=409)
    if offer.deadline < now:
        raise WorkflowError(_("The deadline to answer this offer passed on %(date)s.",
                              date=_fmt(offer.deadline)), code="expired", status=409)
    kinds = _check_kinds(application, shared) if accept else []
    offer.status = OfferStatus.accepted if accept else OfferStatus.declined
    offer.responded_at = now
    offer.shared_documents = kinds_to_text(kinds)
    # What applications.services.respond_to_offer does, with the choice of emailing the confirmation.
    app_services.transition(application, S.accepted if accept else S.declined, by=by, notify=notify)
    db.session.flush()


def set_shared_documents(application: Application, shared, by: User) -> None:
    """The student changes which documents the partner may see (after accepting)."""
    if by.id != application.student_id:
        raise WorkflowError(_("Only the applicant can do this."), code="not-owner", status=403)
    offer = db.session.scalar(select(Offer).where(Offer.application_id == application.id,
                                                  Offer.status == OfferStatus.accepted)
                              .order_by(Offer.id.desc()).limit(1))
    if offer is None or application.status is not S.accepted:
        raise WorkflowError(_("You can choose documents to share once you have accepted a place."),
                            code="not-accepted")
    text = kinds_to_text(_check_kinds(application, shared))
    offer.shared_documents = text
    nomination = active_nomination(application)
    if nomination is not None:
        nomination.shared_documents = text
    db.session.flush()
    audit.record("documents_shared", user=by, detail=f"application {application.id}: {text or 'none'}")


def close_waitlist(call: Call, by: User) -> int:
    """Everybody still on the call's waiting list is told they are not placed. Returns how many."""
    drafts = db.session.scalar(select(func.count(MatchingRun.id)).where(MatchingRun.call_id == call.id,
                                                                       MatchingRun.status == RunStatus.draft))
    if drafts:
        raise WorkflowError(_("Publish or leave aside the draft runs first: a later round may still place "
                              "students from the waiting list."), code="drafts")
    applications = db.session.scalars(select(Application).where(Application.call_id == call.id,
                                                                Application.status == S.waitlisted)
                                      .options(joinedload(Application.student))).all()
    if not applications:
        raise WorkflowError(_("Nobody is on the waiting list of this call."), code="empty")
    for application in applications:
        app_services.transition(application, S.not_placed, by=by, actor=Actor.system, notify=False)
    db.session.flush()
    for application in applications:
        student = application.student
        mail.send_template(student.email, "placement_not_placed", locale=student.locale, student=student,
                           application=application, call=call,
                           link=mail.external_url("placements.offer", application_id=application.id))
    audit.record("waitlist_closed", user=by, detail=f"call {call.id}: {len(applications)}")
    return len(applications)


# --- Keeping offers and nominations in step with the application's status --------------------------

@event.listens_for(Session, "before_flush")
def _follow_application_status(session, flush_context, instances):
    """Whoever moves an application (the student on the applications page, staff withdrawing it on the
    student's behalf), its offer and nomination follow: accepted / declined / withdrawn."""
    changes = [obj for obj in session.new if isinstance(obj, StatusChange)
               and obj.to_status in (S.accepted, S.declined, S.withdrawn)
               and obj.from_status in (S.placed, S.accepted)]
    if not changes:
        return
    now = utcnow()
    with session.no_autoflush:
        for change in changes:
            application = change.application
            app_id = application.id if application is not None else change.application_id
            offers = session.scalars(select(Offer).where(
                Offer.application_id == app_id,
                Offer.status.in_([OfferStatus.offered, OfferStatus.accepted]))).all()
            for offer in offers:
                if change.to_status is S.withdrawn:
                    offer.status = OfferStatus.withdrawn
                elif offer.status is OfferStatus.offered:
                    offer.status = OfferStatus.accepted if change.to_status is S.accepted else OfferStatus.declined
                else:
                    continue
                offer.responded_at = offer.responded_at or now
            if change.to_status is S.withdrawn:
                for nomination in session.scalars(select(Nomination).where(
                        Nomination.application_id == app_id, Nomination.status.in_(ACTIVE_NOMINATION))).all():
                    nomination.status = NominationStatus.cancelled
                    nomination.decided_at = now
                    nomination.decided_by_id = change.by_id
                    nomination.reason = change.comment or _("The student withdrew the application.")
                if application is not None:
                    application.nominated_at = None


# --- Nominations ----------------------------------------------------------------------------------

def default_period(call: Call) -> tuple[date, date]:
    """Planned arrival and departure from the call's period: autumn Sept–Jan, spring Feb–June, full year Sept–June."""
    year = call.academic_year
    if call.period is CallPeriod.spring:
        return date(year + 1, 2, 1), date(year + 1, 6, 30)
    if call.period is CallPeriod.full_year:
        return date(year, 9, 1), date(year + 1, 6, 30)
    return date(year, 9, 1), date(year + 1, 1, 31)


def check_dates(call: Call, arrival: date | None, departure: date | None) -> None:
    if arrival is None:
        raise WorkflowError(_("Give the planned arrival date."), code="dates", field="planned_arrival")
    if departure is None:
        raise WorkflowError(_("Give the planned departure date."), code="dates", field="planned_departure")
    if departure <= arrival:
        raise WorkflowError(_("The departure must be after the arrival."), code="dates", field="planned_departure")
    first, last = date(call.academic_year, 1, 1), date(call.academic_year + 1, 12, 31)
    if not first <= arrival <= last:
        raise WorkflowError(_("The arrival must fall in %(from)s–%(to)s.", **{"from": first.year, "to": last.year}),
                            code="dates", field="planned_arrival")
    if not first <= departure <= last:
        raise WorkflowError(_("The departure must fall in %(from)s–%(to)s.", **{"from": first.year, "to": last.year}),
                            code="dates", field="planned_departure")
    if (departure - arrival).days > MAX_STAY_DAYS:
        raise WorkflowError(_("A stay can last at most %(days)s days.", days=MAX_STAY_DAYS), code="dates",
                            field="planned_departure")


def active_nomination(application: Application) -> Nomination | None:
    return db.session.scalar(select(Nomination).where(Nomination.application_id == application.id,
                                                      Nomination.status.in_(ACTIVE_NOMINATION)).limit(1))


def latest_nomination(application: Application) -> Nomination | None:
    return db.session.scalar(select(Nomination).where(Nomination.application_id == application.id)
                             .options(joinedload(Nomination.institution))
                             .order_by(Nomination.nominated_at.desc(), Nomination.id.desc()).limit(1))


def nominations_by_application(application_ids) -> dict[int, Nomination]:
    """Application id → its latest nomination (any status), for lists; one query."""
    ids = list(application_ids)
    if not ids:
        return {}
    result: dict[int, Nomination] = {}
    for nomination in db.session.scalars(select(Nomination).where(Nomination.application_id.in_(ids))
                                         .order_by(Nomination.nominated_at, Nomination.id)):
        result[nomination.application_id] = nomination
    return result


def nominate(application: Application, by: User, arrival: date | None = None, departure: date | None = None,
             now: datetime | None = None, notify: bool = False) -> Nomination:
    """Nominate a student who accepted their place to the receiving partner; the partner's users may then see
    the application (``applications.services.mark_nominated``) and the documents the student shared."""
    now = now or utcnow()
    if application.status is not S.accepted or application.placed_place_id is None:
        raise WorkflowError(_("Only students who have accepted their place can be nominated."), code="not-accepted")
    if active_nomination(application) is not None:
        raise WorkflowError(_("This student has already been nominated."), code="already", status=409)
    call = application.call
    default_arrival, default_departure = default_period(call)
    arrival = arrival or default_arrival
    departure = departure or default_departure
    check_dates(call, arrival, departure)
    offer = db.session.scalar(select(Offer).where(Offer.application_id == application.id,
                                                  Offer.status == OfferStatus.accepted)
                              .order_by(Offer.id.desc()).limit(1))
    nomination = Nomination(application_id=application.id, institution_id=application.placed_institution_id,
                            place_id=application.placed_place_id, academic_year=call.academic_year,
                            status=NominationStatus.nominated, planned_arrival=arrival,
                            planned_departure=departure, shared_documents=offer.shared_documents if offer else "",
                            nominated_by_id=by.id, nominated_at=now)
    nomination.application = application
    db.session.add(nomination)
    app_services.mark_nominated(application, at=now)
    db.session.flush()
    audit.record("nominated", user=by, detail=f"application {application.id} to institution "
                                              f"{application.placed_institution_id}")
    if notify:
        notify_partners_of_nominations([nomination])
    return nomination


def nominable():
    """The conditions of an application that can be nominated: the student accepted their place and holds no active
    nomination (one rule for the nomination list, its count and the coordinators' home panel)."""
    active = select(Nomination.application_id).where(Nomination.status.in_(ACTIVE_NOMINATION))
    return (Application.status == S.accepted, Application.placed_place_id.is_not(None),
            Application.id.not_in(active))


def nominable_query(call: Call):
    """The call's students who accepted their place and hold no active nomination."""
    return select(Application).where(Application.call_id == call.id, *nominable())


@dataclass
class BulkResult:
    done: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # [(application, message)]


def nominate_many(call: Call, by: User, application_ids: list[int] | None = None, notify: bool = True) -> BulkResult:
    """Nominate the chosen students (or all who can be), with the call's default dates; one email per partner
    user for the whole batch."""
    query = nominable_query(call).options(joinedload(Application.call))
    if application_ids is not None:
        query = query.where(Application.id.in_(application_ids or [-1]))
    result = BulkResult()
    for application in db.session.scalars(query.order_by(Application.id)).unique():
        try:
            result.done.append(nominate(application, by))
        except WorkflowError as exc:
            result.refused.append((application, exc.message))
    if application_ids is not None:
        found = {n.application_id for n in result.done} | {a.id for a, _m in result.refused}
        missing = [i for i in application_ids if i not in found]
        for application in db.session.scalars(select(Application).where(Application.id.in_(missing),
                                                                         Application.call_id == call.id)):
            result.refused.append((application, _("Only students who have accepted their place and are not "
                                                  "nominated yet can be nominated.")))
    if not result.done and not result.refused:
        raise WorkflowError(_("Nobody to nominate: every student who accepted a place has been nominated."),
                            code="none")
    if notify:
        notify_partners_of_nominations(result.done)
    return result


def partner_users(institution_ids) -> list[User]:
    ids = list(set(institution_ids))
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.role == Role.partner, User.institution_id.in_(ids),
                                                      User.is_active_account.is_(True)).order_by(User.id)))


def notify_partners_of_nominations(nominations: list[Nomination]) -> None:
    by_institution: dict[int, list[Nomination]] = defaultdict(list)
    for nomination in nominations:
        by_institution[nomination.institution_id].append(nomination)
    for user in partner_users(by_institution):
        mail.send_template(user.email, "nomination_new", locale=user.locale, user=user,
                           nominations=by_institution[user.institution_id],
                           link=mail.external_url("placements.incoming"))


def _revoke_placement_letter(nomination: Nomination, by: User, reason: str) -> None:
    """A placement letter issued for this nomination no longer holds."""
    from ..certificates.services import revoke_for_subject
    revoke_for_subject("placement", nomination.application_id, by, reason)


def cancel_nomination(nomination: Nomination, by: User, reason: str, now: datetime | None = None) -> None:
    """The sending side withdraws a nomination; the partner no longer sees the student."""
    if nomination.status is NominationStatus.cancelled:
        raise WorkflowError(_("This nomination has already been cancelled."), code="cancelled", status=409)
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(_("Say why the nomination is cancelled."), code="no-reason", field="reason")
    if len(reason) > REASON_MAX:
        raise WorkflowError(_("Use at most %(max)d characters.", max=REASON_MAX), code="too-long", field="reason")
    nomination.status = NominationStatus.cancelled
    nomination.decided_by_id = by.id
    nomination.decided_at = now or utcnow()
    nomination.reason = reason
    app_services.clear_nomination(nomination.application)
    _revoke_placement_letter(nomination, by, _("The nomination was cancelled."))
    audit.record("nomination_cancelled", user=by, detail=f"nomination {nomination.id}")
    for user in partner_users([nomination.institution_id]):
        mail.send_template(user.email, "nomination_cancelled", locale=user.locale, user=user, nomination=nomination,
                           application=nomination.application, link=mail.external_url("placements.incoming"))


def decide_nomination(nomination: Nomination, accept: bool, by: User, reason: str | None = None,
                      now: datetime | None = None, notify: bool = True) -> None:
    """The partner accepts the nominated student, or rejects them with a reason; student and coordinator are told."""
    if by.role is not Role.partner or by.institution_id != nomination.institution_id:
        raise WorkflowError(_("Only the receiving partner can decide on this nomination."), status=404)
    if nomination.status is not NominationStatus.nominated:
        raise WorkflowError(_("This nomination has already been decided."), code="decided", status=409)
    reason = (reason or "").strip() or None
    if not accept and not reason:
        raise WorkflowError(_("Tell the student and the sending coordinator why."), code="no-reason", field="reason")
    if reason and len(reason) > REASON_MAX:
        raise WorkflowError(_("Use at most %(max)d characters.", max=REASON_MAX), code="too-long", field="reason")
    nomination.status = NominationStatus.accepted if accept else NominationStatus.rejected
    nomination.decided_by_id = by.id
    nomination.decided_at = now or utcnow()
    nomination.reason = reason
    db.session.flush()
    if not accept:  # the partner no longer sees the student (applications.access)
        app_services.clear_nomination(nomination.application)
        _revoke_placement_letter(nomination, by, _("The partner university did not accept the nomination."))
    audit.record("nomination_accepted" if accept else "nomination_rejected", user=by,
                 detail=f"nomination {nomination.id}")
    if not notify:
        return
    application = nomination.application
    student = application.student
    mail.send_template(student.email, "nomination_decision", locale=student.locale, student=student,
                       nomination=nomination, application=application, partner=nomination.institution,
                       link=mail.external_url("placements.offer", application_id=application.id))
    staff = nomination.nominated_by
    if staff is not None and staff.is_active:
        mail.send_template(staff.email, "nomination_decision_staff", locale=staff.locale, user=staff,
                           nomination=nomination, application=application, partner=nomination.institution,
                           link=mail.external_url("placements.nominations", call_id=application.call_id))


# --- The partner's side ----------------------------------------------------------------------------

def partner_clause(user: User):
    """Nominations a partner user may see: their institution's live ones (institution_clause)."""
    if user.role is not Role.partner or not user.institution_id:
        return false()
    return institution_clause(user.institution_id)


def institution_clause(institution_id):
    """Nominations an institution's users may see (an id or a bound parameter): the live ones (pending or accepted)
    of applications the partner visibility rule lets them see (``applications.access.nominated_to``: not
    withdrawn, nor started again). Rejected and cancelled nominations are gone for the partner. Joins the
    nomination's application (through this condition when the query does not join it)."""
    return and_(Nomination.institution_id == institution_id, Nomination.status.in_(ACTIVE_NOMINATION),
                Application.id == Nomination.application_id, app_access.nominated_to(institution_id))


def incoming_query(user: User, year: int | None = None, status: NominationStatus | None = None):
    query = select(Nomination).where(partner_clause(user))
    if year:
        query = query.where(Nomination.academic_year == year)
    if status:
        query = query.where(Nomination.status == status)
    return query


def incoming_loaded(query):
    return (query.join(Nomination.application)
            .options(joinedload(Nomination.application).joinedload(Application.student),
                     joinedload(Nomination.application).joinedload(Application.call),
                     joinedload(Nomination.application).selectinload(Application.languages),
                     joinedload(Nomination.place))
            .order_by(Nomination.academic_year.desc(), Application.full_name, Nomination.id))


@dataclass
class IncomingSummary:
    """How many nominations a partner user sees per academic year and status, from one statement."""
    counts: dict[tuple[int, NominationStatus], int]

    @property
    def years(self) -> list[int]:
        """The academic years with nominations, latest first."""
        return sorted({year for year, _status in self.counts}, reverse=True)

    def by_status(self, year: int | None = None) -> dict[NominationStatus, int]:
        """Status → nominations, of one academic year or all."""
        result: Counter = Counter()
        for (y, status), n in self.counts.items():
            if not year or y == year:
                result[status] += n
        return dict(result)


def incoming_summary(user: User) -> IncomingSummary:
    if user.role is not Role.partner or not user.institution_id:
        return IncomingSummary({})
    return IncomingSummary({(year, status): n for year, status, n in db.session.execute(
        _incoming_summary_statement(), {"institution_id": user.institution_id})})


@functools.cache
def _incoming_summary_statement():
    return (select(Nomination.academic_year, Nomination.status, func.count())
            .where(institution_clause(bindparam("institution_id")))
            .group_by(Nomination.academic_year, Nomination.status))


def incoming_page(user: User, year: int | None, status: NominationStatus | None, total: int,
                  per_page: int) -> RowsPage:
    """A page of the nominations to the partner user's institution (`total` of them with these filters), as rows
    of id, academic_year, status, planned_arrival, planned_departure, nominated_at, full_name, nationality,
    isced_code, eqf_level, student_name, email and period."""
    params = {"institution_id": user.institution_id if user.role is Role.partner else None}
    if year:
        params["year"] = year
    if status:
        params["status"] = status
    return RowsPage(statement=_incoming_page_statement(bool(year), bool(status)), params=params, total=total,
                    per_page=per_page, error_out=False)


@functools.cache
def _incoming_page_statement(by_year: bool, by_status: bool):
    query = (select(Nomination.id, Nomination.academic_year, Nomination.status, Nomination.planned_arrival,
                    Nomination.planned_departure, Nomination.nominated_at, Application.full_name,
                    Application.nationality, Application.isced_code, Application.eqf_level,
                    User.name.label("student_name"), User.email, Call.period)
             .join(Application, Application.id == Nomination.application_id)
             .join(User, User.id == Application.student_id).join(Call, Call.id == Application.call_id)
             .where(institution_clause(bindparam("institution_id"))))
    if by_year:
        query = query.where(Nomination.academic_year == bindparam("year"))
    if by_status:
        query = query.where(Nomination.status == bindparam("status"))
    return (query.order_by(Nomination.academic_year.desc(), Application.full_name, Nomination.id)
            .limit(page_limit()).offset(page_offset()))


def shared_documents_of(nomination: Nomination) -> list[ApplicationDocument]:
    kinds = set(nomination.shared_kinds)
    return [d for d in nomination.application.documents if d.kind in kinds]


def partner_document_rule(user: User, application: Application, document: ApplicationDocument) -> bool:
    """For ``applications.access``: a partner opens only the documents the student agreed to share with them.

    (An application marked nominated without going through :func:`nominate` has no Nomination row and no
    recorded consent: the applications rule alone applies.)"""
    nominations = db.session.scalars(select(Nomination).where(Nomination.application_id == application.id)
                                     .order_by(Nomination.id.desc())).all()
    if not nominations:
        return True
    mine = next((n for n in nominations if n.institution_id == user.institution_id and n.is_active), None)
    return mine is not None and document.kind in mine.shared_kinds


app_access.set_partner_document_rule(partner_document_rule)


# --- Factsheets -----------------------------------------------------------------------------------

def factsheet_of(institution_id: int) -> PartnerFactsheet | None:
    return db.session.scalar(select(PartnerFactsheet).where(PartnerFactsheet.institution_id == institution_id)
                             .options(joinedload(PartnerFactsheet.updated_by)))


def save_factsheet(institution: PartnerInstitution, values: dict, by: User) -> PartnerFactsheet:
    if by.role is Role.partner and by.institution_id != institution.id:
        raise WorkflowError(_("You can only edit your own institution's factsheet."), status=404)
    unknown = set(values) - set(PartnerFactsheet.FIELDS)
    if unknown:
        raise ValueError(f"not factsheet fields: {sorted(unknown)}")
    sheet = factsheet_of(institution.id)
    if sheet is None:
        sheet = PartnerFactsheet(institution_id=institution.id)
        db.session.add(sheet)
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip() or None
        setattr(sheet, name, value)
    sheet.updated_by_id = by.id
    sheet.updated_at = utcnow()
    db.session.flush()
    audit.record("factsheet_updated", user=by, detail=f"institution {institution.id}")
    return sheet


# --- What the student sees -------------------------------------------------------------------------

@dataclass
class ChoiceOutcome:
    rank: int
    place: CallPlace | None
    status: str  # obtained | lower | not_eligible | full | no_seat | changed
    cutoff_score: Decimal | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class StudentOutcome:
    placement: RunPlacement
    run: MatchingRun
    rows: list[ChoiceOutcome]
    offer: Offer | None
    nomination: Nomination | None

    @property
    def score(self):
        return self.placement.score


def _reasons_text(reasons: list[dict]) -> list[str]:
    parsed = []
    for item in reasons:
        try:
            parsed.append(rules.Reason(rules.ReasonCode(item["code"]), item.get("params", {})))
        except (ValueError, KeyError):
            continue
    return describe_reasons(parsed)


def student_outcome(application: Application) -> StudentOutcome | None:
    """The latest published run the application took part in, explained choice by choice."""
    placement = db.session.scalar(
        select(RunPlacement).join(RunPlacement.run)
        .where(RunPlacement.application_id == application.id, MatchingRun.status == RunStatus.published)
        .options(joinedload(RunPlacement.run)).order_by(MatchingRun.round.desc()).limit(1))
    if placement is None:
        return None
    place_ids = [c["place"] for c in placement.choices or ()]
    places = {p.id: p for p in db.session.scalars(select(CallPlace).where(CallPlace.id.in_(place_ids or [-1]))
                                                  .options(*app_services.place_loader()))}
    run_places = {rp.place_id: rp for rp in db.session.scalars(
        select(RunPlace).where(RunPlace.run_id == placement.run_id, RunPlace.place_id.in_(place_ids or [-1])))}
    rows = []
    obtained = placement.choice_rank
    for choice in sorted(placement.choices or (), key=lambda c: c["rank"]):
        place = places.get(choice["place"])
        row = ChoiceOutcome(rank=choice["rank"], place=place, status="changed")
        if placement.place_id == choice["place"]:
            row.status = "obtained"
        elif obtained is not None and choice["rank"] > obtained:
            row.status = "lower"
        elif not choice["eligible"]:
            row.status = "not_eligible"
            row.reasons = _reasons_text(choice.get("reasons", []))
        else:
            run_place = run_places.get(choice["place"])
            if run_place is not None and run_place.capacity == 0:
                row.status = "no_seat"
            elif run_place is not None and run_place.is_full and run_place.cutoff_score is not None and (
                    placement.score is None or placement.score <= run_place.cutoff_score):
                row.status, row.cutoff_score = "full", run_place.cutoff_score
            elif run_place is not None and run_place.is_full and run_place.cutoff_application_id is not None:
                row.status = "full"
        rows.append(row)
    return StudentOutcome(placement=placement, run=placement.run, rows=rows, offer=latest_offer(application),
                          nomination=latest_nomination(application))


def placement_summary(application: Application) -> dict | None:
    """What certificates and letters need about a placed application, as plain data (None when not placed)."""
    place = application.placed_place
    if place is None or application.status not in HOLDING:
        return None
    call = application.call
    nomination = latest_nomination(application)
    arrival, departure = default_period(call)
    if nomination is not None and nomination.status is not NominationStatus.cancelled:
        arrival, departure = nomination.planned_arrival or arrival, nomination.planned_departure or departure
    partner = place.partner
    return {
        "partner_id": partner.id, "partner_name": partner.name, "partner_city": partner.city,
        "partner_country": partner.country, "partner_erasmus_code": partner.erasmus_code,
        "place_id": place.id, "isced_code": place.condition.isced_code, "eqf_level": application.eqf_level,
        "mobility_type": place.condition.mobility_type.value, "academic_year": call.academic_year,
        "period": call.period.value, "planned_arrival": arrival, "planned_departure": departure,
        "nomination_status": nomination.status.value if nomination is not None else None,
        "nominated_at": nomination.nominated_at if nomination is not None else None,
    }


# --- Home page panels: plain rows, one statement each, built once per process (building a statement
# costs more than running it); the values are bound parameters. -----------------------------------------

def partner_panel_counts(user: User) -> tuple[int, int]:
    """(nominations waiting for the partner's decision, all nominations the partner sees)."""
    if user.role is not Role.partner or not user.institution_id:
        return 0, 0
    pending, total = db.session.execute(_partner_panel_statement(),
                                        {"institution_id": user.institution_id}).one()
    return pending or 0, total or 0


@functools.cache
def _partner_panel_statement():
    return (select(func.count(Nomination.id).filter(Nomination.status == NominationStatus.nominated),
                   func.count(Nomination.id))
            .where(institution_clause(bindparam("institution_id"))))


def open_offers_of(student: User, limit: int = 3) -> list:
    """The student's offers still open, soonest deadline first: rows of application_id, deadline, call_title,
    partner_name, partner_city, partner_country, isced_code."""
    return db.session.execute(_open_offers_statement(limit), {"student_id": student.id, "now": utcnow()}).all()


@functools.cache
def _open_offers_statement(limit: int):
    query = (select(Offer.application_id, Offer.deadline, Call.title.label("call_title"),
                    PartnerInstitution.name.label("partner_name"), PartnerInstitution.city.label("partner_city"),
                    PartnerInstitution.country.label("partner_country"), CooperationCondition.isced_code)
             .join(Application, Application.id == Offer.application_id).join(Call, Call.id == Application.call_id))
    return (join_partner(query, Offer.place_id)
            .where(Application.student_id == bindparam("student_id"), Offer.status == OfferStatus.offered,
                   Offer.deadline >= bindparam("now"))
            .order_by(Offer.deadline, Offer.id).limit(limit))


def staff_panel_data(limit: int = 5) -> tuple[list, int]:
    """(the newest draft runs as rows of id, round, placed_count, applications_count, call_title; the number of
    students of every call who accepted their place and wait to be nominated), from one statement."""
    rows = db.session.execute(_staff_panel_statement(limit)).all()
    return [row for row in rows if row.id is not None], rows[0].to_nominate or 0


@functools.cache
def _staff_panel_statement(limit: int):
    """Built once per process: it depends on no user and no date (building it costs more than running it)."""
    to_nominate = select(func.count(Application.id)).where(*nominable()).scalar_subquery()
    drafts = (select(MatchingRun.id, MatchingRun.round, MatchingRun.placed_count, MatchingRun.applications_count,
                     MatchingRun.created_at, Call.title.label("call_title"))
              .join(Call, Call.id == MatchingRun.call_id).where(MatchingRun.status == RunStatus.draft)
              .order_by(MatchingRun.created_at.desc(), MatchingRun.id.desc()).limit(limit).subquery())
    one = select(literal(1).label("one")).subquery()  # a row even when there is no draft
    return (select(to_nominate.label("to_nominate"), drafts.c.id, drafts.c.round, drafts.c.placed_count,
                   drafts.c.applications_count, drafts.c.call_title)
            .select_from(one).outerjoin(drafts, true())
            .order_by(drafts.c.created_at.desc(), drafts.c.id.desc()))


# --- Pages' summaries -----------------------------------------------------------------------------

def offer_counts(call: Call) -> dict[OfferStatus, int]:
    return dict(db.session.execute(_offer_counts_statement(), {"call_id": call.id}).all())


@functools.cache
def _offer_counts_statement():
    return (select(Offer.status, func.count(Offer.id)).join(Application, Application.id == Offer.application_id)
            .where(Application.call_id == bindparam("call_id")).group_by(Offer.status))


def nomination_counts(call: Call) -> dict[NominationStatus, int]:
    return dict(db.session.execute(_nomination_counts_statement(), {"call_id": call.id}).all())


@functools.cache
def _nomination_counts_statement():
    return (select(Nomination.status, func.count(Nomination.id))
            .join(Application, Application.id == Nomination.application_id)
            .where(Application.call_id == bindparam("call_id")).group_by(Nomination.status))


def nominable_count(call: Call) -> int:
    """How many of the call's students accepted their place and hold no active nomination (nominable_query)."""
    return db.session.execute(_nominable_count_statement(), {"call_id": call.id}).scalar_one()


@functools.cache
def _nominable_count_statement():
    return select(func.count(Application.id)).where(Application.call_id == bindparam("call_id"), *nominable())


def offers_page(call: Call, status: OfferStatus | None, total: int, per_page: int) -> RowsPage:
    """A page of the call's offers (latest round first, then by name), as rows of application_id, round,
    deadline, status, responded_at, full_name, student_name, email, partner_name, partner_city, partner_country
    and isced_code."""
    params = {"call_id": call.id}
    if status:
        params["status"] = status
    return RowsPage(statement=_offers_page_statement(bool(status)), params=params, total=total, per_page=per_page,
                    error_out=False)


@functools.cache
def _offers_page_statement(by_status: bool):
    # The page's offers first (sorted with the name alone), then the student and place of those rows only.
    ids = (select(Offer.id, Offer.round, Application.full_name)
           .join(Application, Application.id == Offer.application_id)
           .where(Application.call_id == bindparam("call_id")))
    if by_status:
        ids = ids.where(Offer.status == bindparam("status"))
    ids = (ids.order_by(Offer.round.desc(), Application.full_name, Offer.id)
           .limit(page_limit()).offset(page_offset()).subquery())
    query = (select(Offer.application_id, Offer.round, Offer.deadline, Offer.status, Offer.responded_at,
                    Application.full_name, User.name.label("student_name"), User.email,
                    PartnerInstitution.name.label("partner_name"), PartnerInstitution.city.label("partner_city"),
                    PartnerInstitution.country.label("partner_country"), CooperationCondition.isced_code)
             .select_from(ids).join(Offer, Offer.id == ids.c.id)
             .join(Application, Application.id == Offer.application_id)
             .join(User, User.id == Application.student_id))
    return join_partner(query, Offer.place_id).order_by(ids.c.round.desc(), ids.c.full_name, ids.c.id)


def placed_page(call: Call, per_page: int) -> RowsPage:
    """A page of the call's students who hold a place (placed or accepted), by name, as rows of id, status,
    full_name, student_name, email, partner_name, partner_city, partner_country and isced_code."""
    total = db.session.execute(_placed_count_statement(), {"call_id": call.id}).scalar_one()
    return RowsPage(statement=_placed_page_statement(), params={"call_id": call.id}, total=total,
                    per_page=per_page, error_out=False)


def _holding_a_place():
    return (Application.call_id == bindparam("call_id"), Application.status.in_([S.accepted, S.placed]),
            Application.placed_place_id.is_not(None))


@functools.cache
def _placed_count_statement():
    return select(func.count()).select_from(Application).where(*_holding_a_place())


@functools.cache
def _placed_page_statement():
    # The page's applications first (in name order, from ix_applications_call_name), then their student and place.
    ids = (select(Application.id, Application.full_name).where(*_holding_a_place())
           .order_by(Application.full_name, Application.id)
           .limit(page_limit()).offset(page_offset()).subquery())
    query = (select(Application.id, Application.status, Application.full_name, User.name.label("student_name"),
                    User.email, PartnerInstitution.name.label("partner_name"),
                    PartnerInstitution.city.label("partner_city"), PartnerInstitution.country.label("partner_country"),
                    CooperationCondition.isced_code)
             .select_from(ids).join(Application, Application.id == ids.c.id)
             .join(User, User.id == Application.student_id))
    return join_partner(query, Application.placed_place_id).order_by(ids.c.full_name, ids.c.id)


def placeable_count(call: Call) -> int:
    """About how many applications a run of the call would place (eligible or on the waiting list)."""
    counts = status_counts(call)
    return counts.get(S.eligible.value, 0) + counts.get(S.waitlisted.value, 0)


def status_counts(call: Call) -> dict[str, int]:
    """Status value → applications of the call (from the counters the database keeps, not a count of rows)."""
    return {S(status).value: n for status, n in db.session.execute(
        select(ApplicationStatusCount.status, ApplicationStatusCount.n)
        .where(ApplicationStatusCount.call_id == call.id, ApplicationStatusCount.n > 0))}


def calls_overview() -> list[tuple[Call, dict]]:
    """Every call with what matters for placement: eligible, waitlisted, accepted; runs and the last round."""
    calls = db.session.scalars(select(Call).order_by(Call.closes_at.desc(), Call.id.desc())).all()
    counts: dict[int, dict] = defaultdict(dict)
    for call_id, status, n in db.session.execute(
            select(ApplicationStatusCount.call_id, ApplicationStatusCount.status, ApplicationStatusCount.n)
            .where(ApplicationStatusCount.status.in_([S.eligible, S.waitlisted, S.placed, S.accepted]),
                   ApplicationStatusCount.n > 0)):
        counts[call_id][S(status).value] = n
    runs: dict[int, dict] = defaultdict(dict)
    for call_id, status, n, last in db.session.execute(
            select(MatchingRun.call_id, MatchingRun.status, func.count(MatchingRun.id), func.max(MatchingRun.round))
            .group_by(MatchingRun.call_id, MatchingRun.status)):
        runs[call_id][status] = (n, last)
    return [(call, {"counts": counts.get(call.id, {}), "runs": runs.get(call.id, {})}) for call in calls]
