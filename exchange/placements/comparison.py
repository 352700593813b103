"""Comparing two runs of a call side by side."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..applications import services as app_services
from ..core.errors import WorkflowError
from ..extensions import db
from .models import RUN_RANKING, MatchingRun, RunPlacement
from .runs import run_places


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
                                .order_by(*RUN_RANKING)).all()
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
