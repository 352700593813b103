"""The kinds of certificate: for each, how to load its subject, who may receive it, and what it states.

A kind is a :class:`KindSpec`:

* ``load(ids)``          subjects by id, with what the facts need eagerly loaded (no query per row);
* ``in_scope(scope_id)`` SQL: ids of the eligible subjects of a scope (an event, a call) for bulk issuing;
* ``ineligible(subject)`` None when a certificate may be issued, else the reason (translated);
* ``recipient(subject)`` the User who receives it;
* ``facts(subject)``     the snapshot stored on the certificate: recipient name, what and when, details.

The PDF context (pdf.py) is built from the snapshot alone (services.context_of), so a certificate can
be rendered and verified even after its subject is gone.

Placement letters and completion certificates read the placed destination through
:func:`placement_facts`, the one function that knows where the placements step stores it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable
from zoneinfo import ZoneInfo

from flask import current_app
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..applications.models import Application, CallPlace
from ..applications.workflow import ApplicationStatus
from ..core.types import utcnow
from ..events.models import Event, Registration, attended, attended_clause
from ..extensions import db
from ..placements.student import placement_summary
from .models import CertificateKind, CompletionRecord

#: Application statuses in which a student holds a place (placement letters, completion certificates).
PLACED_STATUSES = frozenset({ApplicationStatus.accepted})


@dataclass(frozen=True)
class KindSpec:
    kind: CertificateKind
    subject_column: str  # "registration_id" or "application_id" on Certificate
    scope_column: str  # "event_id" or "call_id"
    load: Callable[[list[int]], dict[int, Any]]
    in_scope: Callable[[int], Any]
    ineligible: Callable[[Any], str | None]
    recipient: Callable[[Any], Any]
    facts: Callable[[Any], dict]


def office_date(value) -> date | None:
    """A UTC datetime as a calendar date in the office's time zone (certificates show dates, not times)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


# --- Participation in a cultural event --------------------------------------------------------------

#: Why nobody can receive a certificate of participation yet (people may check in before the start).
NOT_STARTED = _l("Certificates of participation can only be issued once the event has started.")


def not_started(event: Event) -> str | None:
    """Why nobody at `event` can receive a certificate of participation yet (None once it has started)."""
    return str(NOT_STARTED) if event.starts_at > utcnow() else None


def _load_registrations(ids: list[int]) -> dict[int, Registration]:
    rows = db.session.scalars(select(Registration).where(Registration.id.in_(ids))
                              .options(joinedload(Registration.event), joinedload(Registration.user))).unique()
    return {row.id: row for row in rows}


def _attendees_of(event_id: int):
    """Those checked in at the event, once it has started (none before)."""
    return (select(Registration.id).join(Event, Event.id == Registration.event_id)
            .where(Registration.event_id == event_id, attended_clause(), Event.starts_at <= utcnow()))


def _participation_ineligible(registration: Registration) -> str | None:
    if refusal := not_started(registration.event):
        return refusal
    if not attended(registration):
        return _("Only people who checked in at the event can receive a certificate of participation.")
    return None


def _participation_facts(registration: Registration) -> dict:
    event = registration.event
    return {
        "recipient_name": registration.user.name,
        "subject_title": event.title,
        "subject_start": office_date(event.starts_at),
        "subject_end": office_date(event.ends_at),
        "academic_year": None,
        "period": None,
        "event_id": event.id,
        "call_id": None,
        "details": {"category": event.category.value if event.category else None, "venue": event.venue or None},
    }


# --- Placement letter and completion certificate ----------------------------------------------------

def placement_facts(application: Application) -> dict | None:
    """The destination an application is placed at, as plain data; None when it is not placed.

    The placements step owns where that lives: ``placements.student.placement_summary`` (the placed
    CallPlace and partner, the call's year and period, the nomination's planned arrival and departure).
    Certificates depend on placements, never the other way round (placements tell certificates what happened
    through ``exchange.signals``).
    """
    summary = placement_summary(application)
    if summary is None:
        return None
    keys = ("partner_name", "partner_city", "partner_country", "partner_erasmus_code", "academic_year", "period",
            "isced_code", "mobility_type", "eqf_level", "planned_arrival", "planned_departure", "nomination_status")
    return {key: summary.get(key) for key in keys}


#: A placement letter confirms a nomination: none while the partner has refused it or it was withdrawn.
REFUSED_NOMINATIONS = frozenset({"rejected", "cancelled"})


def _application_options():
    return (joinedload(Application.student), joinedload(Application.call),
            joinedload(Application.placed_institution),
            joinedload(Application.placed_place).joinedload(CallPlace.condition))


def _load_applications(ids: list[int]) -> dict[int, Application]:
    rows = db.session.scalars(select(Application).where(Application.id.in_(ids))
                              .options(*_application_options())).unique()
    return {row.id: row for row in rows}


def _placed_of(call_id: int):
    return select(Application.id).where(Application.call_id == call_id,
                                        Application.status.in_(PLACED_STATUSES),
                                        Application.placed_place_id.is_not(None))


def _placement_ineligible(application: Application) -> str | None:
    if application.status not in PLACED_STATUSES:
        return _("Placement letters are only for students who have accepted their place.")
    facts = placement_facts(application)
    if facts is None:
        return _("This application has no placed destination yet.")
    if facts.get("nomination_status") in REFUSED_NOMINATIONS:
        return _("The nomination of this student was refused or withdrawn.")
    return None


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _destination_facts(application: Application) -> dict:
    facts = placement_facts(application) or {}
    return {
        "recipient_name": application.full_name or application.student.name,
        "subject_title": facts.get("partner_name") or "",
        "subject_start": None,
        "subject_end": None,
        "academic_year": facts.get("academic_year"),
        "period": facts.get("period"),
        "event_id": None,
        "call_id": application.call_id,
        "details": {
            "partner_city": facts.get("partner_city"),
            "partner_country": facts.get("partner_country"),
            "partner_erasmus_code": facts.get("partner_erasmus_code"),
            "isced_code": facts.get("isced_code"),
            "mobility_type": facts.get("mobility_type"),
            "eqf_level": facts.get("eqf_level"),
            "student_number": application.student_number or None,
            "planned_arrival": _iso(facts.get("planned_arrival")),
            "planned_departure": _iso(facts.get("planned_departure")),
        },
    }


@dataclass(frozen=True)
class CompletedExchange:
    """The subject of a completion certificate: the application and its completion record."""
    application: Application
    record: CompletionRecord | None

    @property
    def id(self) -> int:
        return self.application.id


def _load_completed(ids: list[int]) -> dict[int, CompletedExchange]:
    applications = _load_applications(ids)
    records = {r.application_id: r for r in db.session.scalars(
        select(CompletionRecord).where(CompletionRecord.application_id.in_(ids)))}
    return {i: CompletedExchange(a, records.get(i)) for i, a in applications.items()}


def _completed_of(call_id: int):
    return _placed_of(call_id).join(CompletionRecord, CompletionRecord.application_id == Application.id)


def _completion_ineligible(subject: CompletedExchange) -> str | None:
    reason = _placement_ineligible(subject.application)
    if reason:
        return reason
    if subject.record is None:
        return _("Record the dates of the completed exchange first.")
    return None


def _completion_facts(subject: CompletedExchange) -> dict:
    facts = _destination_facts(subject.application)
    record = subject.record
    if record is not None:
        facts["subject_start"] = record.started_on
        facts["subject_end"] = record.ended_on
        facts["details"]["ects_credits"] = (format(record.ects_credits.normalize(), "f") if record.ects_credits is not None
                                            else None)
    return facts


KINDS: dict[CertificateKind, KindSpec] = {
    CertificateKind.participation: KindSpec(
        CertificateKind.participation, "registration_id", "event_id", _load_registrations, _attendees_of,
        _participation_ineligible, lambda r: r.user, _participation_facts),
    CertificateKind.placement: KindSpec(
        CertificateKind.placement, "application_id", "call_id", _load_applications, _placed_of,
        _placement_ineligible, lambda a: a.student, _destination_facts),
    CertificateKind.completion: KindSpec(
        CertificateKind.completion, "application_id", "call_id", _load_completed, _completed_of,
        _completion_ineligible, lambda s: s.application.student, _completion_facts),
}


def spec_of(kind: CertificateKind | str) -> KindSpec:
    return KINDS[CertificateKind(kind)]
