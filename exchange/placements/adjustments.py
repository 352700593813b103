"""Manual adjustments: a coordinator moves a student of a draft run, confirming the warnings."""
from __future__ import annotations

from ..core.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..applications.models import ApplicationChoice, CallPlace
from ..auth.models import User
from ..core import audit
from ..core.errors import WorkflowError, check_reason
from ..extensions import db
from .models import REASON_MAX, ManualAdjustment, MatchingRun, RunPlacement, UnplacedReason
from .runs import places_by_id, refresh_run_place, refresh_stats


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
        name = places[to_place_id].short_label
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
                                 "params": {"place": places[placement.place_id].short_label, **_names(waiting)}})
    return warnings


def move_placement(run: MatchingRun, placement: RunPlacement, to_place_id: int | None, reason: str, by: User,
                   confirm: bool = False) -> ManualAdjustment:
    """Move a student of a draft run to another place (None: no place). Warnings need `confirm`."""
    if not run.can_adjust():
        raise WorkflowError(_("A published run cannot be changed."), code="not-draft", status=409)
    if placement.run_id != run.id:
        raise WorkflowError(_("This student is not part of this run."), status=404)
    places = places_by_id(run.call)
    if to_place_id is not None and to_place_id not in places:
        raise WorkflowError(_("Choose a destination of this call."), code="bad-place", field="place")
    if to_place_id == placement.place_id:
        raise WorkflowError(_("The student is already there."), code="same-place", field="place")
    reason = check_reason(reason, REASON_MAX, missing=_("Say why you make this change."))
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
