"""What the student sees: the run explained choice by choice, and the placement other domains (certificates)
read."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..applications import eligibility as rules
from ..applications import services as app_services
from ..applications.labels import describe_reasons
from ..applications.models import Application, CallPlace
from ..extensions import db
from .models import MatchingRun, Nomination, NominationStatus, Offer, RunPlace, RunPlacement, RunStatus
from .nominations import default_period, latest_nomination
from .offers import latest_offer
from .runs import HOLDING


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
