"""Calls, applications and their review: plain functions over the models.

No request, no flash: services mutate, flush, and raise WorkflowError when a rule forbids the action.
The caller commits.

Public API for the placements step (see also models.py and workflow.py):

* ``transition(application, to_status, by=None, comment=None, actor=None, notify=True)``
* ``eligible_places(application)`` / ``eligibility_reasons(application, place)`` /
  ``call_eligibility_reasons(application)``; ``labels.describe_reasons(reasons)`` words them
* ``set_placement(application, place)`` / ``mark_nominated(application)`` / ``clear_nomination(application)``
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from datetime import date
from decimal import Decimal

from ..core.i18n import format_datetime
from ..core.i18n import gettext as _
from sqlalchemy import func, literal, null, select, union_all
from sqlalchemy.orm import selectinload

from ..auth.models import STAFF, Role, User
from ..core import audit, mail, uploads
from ..core.errors import BulkResult, WorkflowError
from ..core.reference import CEFR_LEVELS, COUNTRY_CODES, EQF_LEVELS, LANGUAGE_CODES, isced_fields
from ..core.types import utcnow
from ..extensions import db
from ..signals import application_status_changed
from ..partners.models import Agreement, AgreementStatus, CooperationCondition, Direction
from . import eligibility as rules
from . import loading
from . import scoring
from .labels import DOCUMENT_LABELS, STATUS_LABELS, describe_reasons
from .models import (MAX_CHOICES_LIMIT, MOTIVATION_MAX, MOTIVATION_MIN, SUPPORT_NEEDS_MAX, Application,
                     ApplicationChoice, ApplicationComment, ApplicationDocument, ApplicationStatusCount, Call, CallPlace, DocumentKind,
                     LanguageSkill, Review, ReviewScore, ScoringCriterion, StatusChange)
from .workflow import EDITABLE, Actor, ApplicationStatus, TransitionRefused, check_transition

S = ApplicationStatus


# --- Calls ----------------------------------------------------------------------------------------

def place_loader():
    """Eager loading for a place's condition, agreement, partner and languages (no query per row)."""
    return (selectinload(CallPlace.condition).selectinload(CooperationCondition.agreement)
            .selectinload(Agreement.partner),
            selectinload(CallPlace.condition).selectinload(CooperationCondition.languages))


def load_places(call: Call) -> list[CallPlace]:
    """The call's places with everything the pages show, in destination order."""
    places = db.session.scalars(select(CallPlace).where(CallPlace.call_id == call.id)
                                .options(*place_loader())).all()
    return sorted(places, key=lambda p: (p.partner.country, p.partner.name, p.condition.isced_code, p.id))


def place_totals(call_ids) -> dict[int, tuple[int, int]]:
    """{call id: (destinations, seats)} counted in SQL."""
    ids = list(call_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(CallPlace.call_id, func.count(), func.coalesce(func.sum(CallPlace.seats), 0))
                              .where(CallPlace.call_id.in_(ids)).group_by(CallPlace.call_id))
    totals = {call_id: (0, 0) for call_id in ids}
    totals.update({call_id: (int(n), int(seats)) for call_id, n, seats in rows})
    return totals


def available_conditions(call: Call) -> list[CooperationCondition]:
    """Outgoing conditions of active agreements covering the call's year, of the call's mobility type."""
    query = (select(CooperationCondition).join(CooperationCondition.agreement)
             .where(CooperationCondition.direction == Direction.outgoing,
                    CooperationCondition.mobility_type == call.mobility_type,
                    Agreement.status == AgreementStatus.active,
                    Agreement.first_year <= call.academic_year,
                    Agreement.last_year >= call.academic_year)
             .options(selectinload(CooperationCondition.agreement).selectinload(Agreement.partner),
                      selectinload(CooperationCondition.languages)))
    conditions = db.session.scalars(query).all()
    return sorted(conditions, key=lambda c: (c.agreement.partner.country, c.agreement.partner.name,
                                             c.isced_code, c.id))


@dataclass
class CriterionData:
    name: str
    weight: int
    uses_gpa: bool = False


def _has_scores(call: Call) -> bool:
    if call.id is None:
        return False
    return db.session.scalar(
        select(func.count(ReviewScore.id)).join(ReviewScore.criterion)
        .where(ScoringCriterion.call_id == call.id)) > 0


def save_call(call: Call | None, *, title: str, academic_year: int, period, mobility_type, description: str | None,
              opens_at, closes_at, max_choices: int, min_gpa: Decimal | None, eqf_levels, required_documents,
              criteria: list[CriterionData], by: User) -> Call:
    """Create (call=None) or update a call, with its criteria."""
    if opens_at >= closes_at:
        raise WorkflowError(_("The closing date must be after the opening date."), code="dates", field="closes_at")
    if not 1 <= max_choices <= MAX_CHOICES_LIMIT:
        raise WorkflowError(_("Students may rank from 1 to %(max)s destinations.", max=MAX_CHOICES_LIMIT),
                            code="max-choices", field="max_choices")
    try:
        scoring.check_weights([c.weight for c in criteria])
    except ValueError:
        raise WorkflowError(_("The weights of the scoring criteria must add up to 100 (now %(sum)s).",
                              sum=sum(c.weight for c in criteria)), code="weights", field="criteria")
    names = [c.name.strip().lower() for c in criteria]
    if len(set(names)) != len(names):
        raise WorkflowError(_("Two scoring criteria have the same name."), code="criteria-names", field="criteria")
    new = call is None
    if new:
        call = Call(created_by_id=by.id)
        db.session.add(call)
    current = [(c.name, c.weight, c.uses_gpa) for c in call.criteria]
    wanted = [(c.name, c.weight, c.uses_gpa) for c in criteria]
    if not new and current != wanted and _has_scores(call):
        raise WorkflowError(_("Applications of this call have already been scored: the scoring criteria can no "
                              "longer be changed."), code="criteria-locked", field="criteria")
    call.title = title
    call.academic_year = academic_year
    call.period = period
    call.mobility_type = mobility_type
    call.description = description or None
    call.opens_at = opens_at
    call.closes_at = closes_at
    call.max_choices = max_choices
    call.min_gpa = min_gpa
    call.eqf_level_list = eqf_levels
    call.required_document_list = required_documents
    if current != wanted:
        call.criteria.clear()
        db.session.flush()
        for position, c in enumerate(criteria):
            call.criteria.append(ScoringCriterion(position=position, name=c.name.strip(), weight=c.weight,
                                                  uses_gpa=c.uses_gpa))
    db.session.flush()
    audit.record("call_created" if new else "call_updated", user=by, detail=f"call {call.id}")
    return call


def set_call_places(call: Call, seats_by_condition: dict[int, int], by: User) -> None:
    """Make the call offer exactly these conditions with these seats; refuse removing a chosen place."""
    allowed = {c.id for c in available_conditions(call)}
    existing = {p.condition_id: p for p in call.places}
    for condition_id, seats in seats_by_condition.items():
        if condition_id not in allowed and condition_id not in existing:
            raise WorkflowError(_("This destination is not an outgoing place of an active agreement for the "
                                  "call's academic year."), code="bad-condition", field=f"seats-{condition_id}")
        if seats < 0 or seats > 999:
            raise WorkflowError(_("Seats must be a whole number from 0 to 999."), code="seats",
                                field=f"seats-{condition_id}")
    removed = [p for cid, p in existing.items() if cid not in seats_by_condition]
    if removed:
        chosen = db.session.scalar(select(func.count(ApplicationChoice.id))
                                   .where(ApplicationChoice.place_id.in_([p.id for p in removed])))
        if chosen:
            raise WorkflowError(_("Students have already chosen a destination you removed. Set its seats to 0 "
                                  "instead of removing it."), code="place-chosen")
    for place in removed:
        call.places.remove(place)
    for condition_id, seats in seats_by_condition.items():
        if condition_id in existing:
            existing[condition_id].seats = seats
        else:
            call.places.append(CallPlace(condition_id=condition_id, seats=seats))
    db.session.flush()
    audit.record("call_places_updated", user=by, detail=f"call {call.id}: {len(seats_by_condition)} places")


def public_calls(now=None) -> list[Call]:
    """Calls open now or opening later, soonest deadline first, places loaded."""
    now = now or utcnow()
    calls = db.session.scalars(select(Call).where(Call.closes_at >= now).order_by(Call.closes_at, Call.id)
                               .options(selectinload(Call.places).options(*place_loader()))).all()
    return list(calls)


def open_calls_without(student_id: int, now=None) -> list[Call]:
    """Calls open now or opening later that the student has not applied to (no places loaded: see pipeline.place_totals)."""
    now = now or utcnow()
    applied = select(Application.call_id).where(Application.student_id == student_id)
    return list(db.session.scalars(select(Call).where(Call.closes_at >= now, Call.id.not_in(applied))
                                   .order_by(Call.closes_at, Call.id)))


def calls_with_counts() -> list[tuple[Call, dict[S, int]]]:
    """Every call with its applications counted by status (the counters kept by the database,
    ApplicationStatusCount); destinations and seats come from place_totals()."""
    calls = db.session.scalars(select(Call).order_by(Call.closes_at.desc(), Call.id.desc())).all()
    counts: dict[int, dict[S, int]] = {}
    for call_id, status, n in db.session.execute(
            select(ApplicationStatusCount.call_id, ApplicationStatusCount.status, ApplicationStatusCount.n)
            .where(ApplicationStatusCount.n != 0)):
        counts.setdefault(call_id, {})[status] = n
    return [(call, counts.get(call.id, {})) for call in calls]


# --- Starting and editing an application ----------------------------------------------------------------

def find_application(call: Call, student: User) -> Application | None:
    return db.session.scalar(select(Application).where(Application.call_id == call.id,
                                                       Application.student_id == student.id))


def start_application(call: Call, student: User) -> Application:
    if student.role is not Role.student:
        raise WorkflowError(_("Only students can apply."), code="not-student", status=403)
    existing = find_application(call, student)
    if existing is not None and existing.status is not S.withdrawn:
        raise WorkflowError(_("You already have an application for this call. Open it from your applications."),
                            code="duplicate", status=409)
    phase = call.phase()
    if phase == "upcoming":
        raise WorkflowError(_("This call opens on %(date)s.", date=format_datetime(call.opens_at)), code="not-open")
    if phase == "closed":
        raise WorkflowError(_("This call closed on %(date)s.", date=format_datetime(call.closes_at)), code="deadline")
    if existing is not None:
        # Applying again after withdrawing: the same application (one per student and call) comes back as a draft,
        # with what the student had filled in and its history.
        transition(existing, S.draft, by=student, notify=False)
        existing.submitted_at = None  # set again when it is sent in
        return existing
    application = Application(call=call, student=student, student_id=student.id, status=S.draft,
                              full_name=student.name)
    db.session.add(application)
    db.session.flush()
    db.session.add(StatusChange(application=application, from_status=None, to_status=S.draft,
                                actor=Actor.student, by_id=student.id))
    db.session.flush()
    return application


def ensure_editable(application: Application) -> None:
    """The student may change the content: a draft before the deadline, or after a request for changes."""
    if application.status not in EDITABLE:
        raise WorkflowError(_("This application is %(status)s and can no longer be changed.",
                              status=STATUS_LABELS[application.status]), code="read-only")
    if application.status is S.draft and not application.call.is_open():
        raise WorkflowError(_("The deadline has passed: the call closed on %(date)s.",
                              date=format_datetime(application.call.closes_at)), code="deadline")


EDITABLE_FIELDS = {"full_name", "date_of_birth", "nationality", "student_number", "study_programme", "isced_code",
                   "eqf_level", "year_of_study", "gpa", "gpa_scale", "motivation", "support_needs"}


def update_application(application: Application, **values) -> None:
    """Save some fields of the student's form (a draft may be incomplete; formats are checked by the form)."""
    ensure_editable(application)
    unknown = set(values) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if values.get("nationality") and values["nationality"].upper() not in COUNTRY_CODES:
        raise WorkflowError(_("Choose a country from the list (ISO 3166-1 code)."), field="nationality")
    if values.get("isced_code") and values["isced_code"] not in isced_fields():
        raise WorkflowError(_("Choose a subject area from the ISCED-F 2013 list."), field="isced_code")
    if values.get("eqf_level") is not None and values["eqf_level"] not in EQF_LEVELS:
        raise WorkflowError(_("Choose a study level from the list."), field="eqf_level")
    if len(values.get("motivation") or "") > MOTIVATION_MAX:
        raise WorkflowError(_("Use at most %(max)d characters.", max=MOTIVATION_MAX), field="motivation")
    if len(values.get("support_needs") or "") > SUPPORT_NEEDS_MAX:
        raise WorkflowError(_("Use at most %(max)d characters.", max=SUPPORT_NEEDS_MAX), field="support_needs")
    gpa = values.get("gpa", application.gpa)
    scale = values.get("gpa_scale", application.gpa_scale)
    normalised = application.gpa_normalised
    if "gpa" in values or "gpa_scale" in values:
        normalised = None
        if gpa is not None and scale is not None:
            try:
                normalised = scoring.normalise_gpa(gpa, scale)
            except ValueError:
                raise WorkflowError(_("This grade is outside the scale you chose."), code="gpa-range", field="gpa")
    for name, value in values.items():
        if type(value) is str:  # not the str-based enums
            value = value.strip() or None
        if name == "nationality" and value:
            value = value.upper()
        setattr(application, name, value)
    application.gpa_normalised = normalised
    db.session.flush()


def set_languages(application: Application, rows: list[tuple[str, str, str | None]]) -> None:
    """Replace the language skills: [(ISO 639-1, CEFR, certificate or None)]."""
    ensure_editable(application)
    if len(rows) > 8:
        raise WorkflowError(_("List at most %(max)s languages.", max=8), field="languages")
    seen = set()
    for language, level, _certificate in rows:
        if language not in LANGUAGE_CODES:
            raise WorkflowError(_("Choose a language from the list (ISO 639-1 code)."), field="languages")
        if level not in CEFR_LEVELS:
            raise WorkflowError(_("Choose a CEFR level from A1 to C2."), field="languages")
        if language in seen:
            raise WorkflowError(_("Each language can be listed once."), code="duplicate-language", field="languages")
        seen.add(language)
    application.languages.clear()
    db.session.flush()
    for language, level, certificate in rows:
        application.languages.append(LanguageSkill(language=language, cefr_level=level,
                                                   certificate=(certificate or "").strip() or None))
    application.updated_at = utcnow()
    db.session.flush()


def set_choices(application: Application, place_ids: list[int]) -> None:
    """Replace the ranked destinations (first = most wanted). Ineligible places may be saved in a draft,
    but cannot be submitted."""
    ensure_editable(application)
    call = application.call
    if not place_ids:
        raise WorkflowError(_("Choose at least one destination."), code="no-choice", field="choices")
    if len(place_ids) > call.max_choices:
        raise WorkflowError(_("You can rank at most %(max)s destinations.", max=call.max_choices),
                            code="too-many", field="choices")
    if len(set(place_ids)) != len(place_ids):
        raise WorkflowError(_("Each destination can be chosen only once."), code="duplicate-choice", field="choices")
    places = {p.id: p for p in db.session.scalars(select(CallPlace).where(CallPlace.id.in_(place_ids)))}
    if any(pid not in places or places[pid].call_id != call.id for pid in place_ids):
        raise WorkflowError(_("A chosen destination is not offered by this call."), code="foreign-place",
                            field="choices")
    application.choices.clear()
    db.session.flush()
    for rank, place_id in enumerate(place_ids, start=1):
        application.choices.append(ApplicationChoice(place_id=place_id, rank=rank))
    application.updated_at = utcnow()
    db.session.flush()


def upload_document(application: Application, kind: DocumentKind, storage, by: User) -> ApplicationDocument:
    """Store a required document (PDF, JPEG or PNG, at most 10 MB, checked by content); replaces the old one."""
    ensure_editable(application)
    if kind not in application.call.required_document_list:
        raise WorkflowError(_("This call does not ask for this document."), code="not-required", field="file")
    stored = uploads.save_upload(storage, kinds=uploads.DOCUMENT_KINDS, field="file")
    old = application.document(kind)
    old_name = old.stored_name if old else None
    if old is not None:
        application.documents.remove(old)
        db.session.flush()
    document = ApplicationDocument(kind=kind, stored_name=stored.stored_name, original_name=stored.original_name,
                                   mimetype=stored.mimetype, size=stored.size, uploaded_by_id=by.id)
    application.documents.append(document)
    application.updated_at = utcnow()
    try:
        db.session.flush()
    except Exception:
        uploads.delete_upload(stored.stored_name)
        raise
    uploads.delete_upload(old_name)
    audit.record("application_document_uploaded", user=by, detail=f"application {application.id}: {kind.value}")
    return document


def delete_document(application: Application, document: ApplicationDocument, by: User) -> None:
    ensure_editable(application)
    if document.application_id != application.id:
        raise WorkflowError(_("This document does not belong to the application."), status=404)
    stored_name = document.stored_name
    application.documents.remove(document)
    application.updated_at = utcnow()
    db.session.flush()
    uploads.delete_upload(stored_name)
    audit.record("application_document_deleted", user=by, detail=f"application {application.id}")


# --- Eligibility ----------------------------------------------------------------------------------

def candidate_of(application: Application) -> rules.Candidate:
    return rules.Candidate(isced_code=application.isced_code, eqf_level=application.eqf_level,
                           gpa=application.gpa_normalised, languages=application.language_levels)


def place_rules_of(place: CallPlace) -> rules.PlaceRules:
    return rules.PlaceRules(isced_code=place.condition.isced_code, eqf_levels=place.condition.eqf_level_list,
                            languages=place.language_requirements)


def call_rules_of(call: Call) -> rules.CallRules:
    return rules.CallRules(min_gpa=call.min_gpa, eqf_levels=call.eqf_level_list)


def eligibility_reasons(application: Application, place: CallPlace) -> list[rules.Reason]:
    """Why the student does not meet this place's conditions (subject, level, languages); [] = meets them."""
    return rules.place_reasons(candidate_of(application), place_rules_of(place))


def call_eligibility_reasons(application: Application) -> list[rules.Reason]:
    """Why the student does not meet the call's own rules (minimum GPA, study levels); [] = meets them."""
    return rules.call_reasons(candidate_of(application), call_rules_of(application.call))


def eligible_places(application: Application, places: list[CallPlace] | None = None) -> list[CallPlace]:
    """The call's places the student may be placed at: none if the call's own rules are not met."""
    if call_eligibility_reasons(application):
        return []
    candidate = candidate_of(application)
    places = application.call.places if places is None else places
    return [p for p in places if not rules.place_reasons(candidate, place_rules_of(p))]


def choice_checks(application: Application) -> list[tuple[ApplicationChoice, list[str]]]:
    """Each ranked choice with the (translated) reasons it cannot be submitted; [] = fine."""
    candidate = candidate_of(application)
    return [(choice, describe_reasons(rules.place_reasons(candidate, place_rules_of(choice.place))))
            for choice in application.choices]


# --- Completeness and submission -----------------------------------------------------------------

STEPS = ("personal", "study", "languages", "motivation", "destinations", "documents", "review")


def missing_items(application: Application) -> dict[str, list[str]]:
    """What is still missing, per step of the form (translated); every list empty = complete."""
    a = application
    missing: dict[str, list[str]] = {step: [] for step in STEPS}
    for attr, label in (("full_name", _("Full name")), ("date_of_birth", _("Date of birth")),
                        ("nationality", _("Nationality")), ("student_number", _("Student number"))):
        if not getattr(a, attr):
            missing["personal"].append(label)
    for attr, label in (("study_programme", _("Study programme")), ("isced_code", _("Subject area (ISCED-F)")),
                        ("eqf_level", _("Study level (EQF)")), ("year_of_study", _("Year of study")),
                        ("gpa", _("Grade point average")), ("gpa_scale", _("Grading scale"))):
        if getattr(a, attr) in (None, ""):
            missing["study"].append(label)
    if not a.languages:
        missing["languages"].append(_("At least one language"))
    if not a.motivation:
        missing["motivation"].append(_("Motivation"))
    elif len(a.motivation) < MOTIVATION_MIN:
        missing["motivation"].append(_("Motivation of at least %(min)d characters (now %(n)d)",
                                       min=MOTIVATION_MIN, n=len(a.motivation)))
    if not a.choices:
        missing["destinations"].append(_("At least one destination"))
    for kind in a.call.required_document_list:
        if a.document(kind) is None:
            missing["documents"].append(str(DOCUMENT_LABELS[kind]))
    return missing


def progress(application: Application) -> dict:
    """For the progress indicator: per step done or not, and the share of steps done."""
    missing = missing_items(application)
    steps = [step for step in STEPS if step != "review"]
    done = [step for step in steps if not missing[step]]
    return {"missing": missing, "done": set(done), "percent": round(100 * len(done) / len(steps)),
            "complete": len(done) == len(steps)}


class SubmissionRefused(WorkflowError):
    """The application cannot be submitted; `problems` lists every reason (translated)."""

    def __init__(self, problems: list[str]):
        super().__init__(_("Your application cannot be submitted yet:") + " " + " ".join(problems),
                         code="incomplete", status=422)
        self.problems = problems


def submission_problems(application: Application) -> list[str]:
    problems = []
    for step, items in missing_items(application).items():
        for item in items:
            problems.append(_("Missing: %(item)s.", item=item))
    for choice, reasons in choice_checks(application):
        for reason in reasons:
            problems.append(_("Choice %(rank)s (%(place)s): %(reason)s", rank=choice.rank,
                              place=choice.place.partner.name, reason=reason))
    for reason in describe_reasons(call_eligibility_reasons(application)):
        problems.append(reason)
    return problems


def submit_application(application: Application, by: User) -> StatusChange:
    """Send the application in: checks the deadline (drafts), completeness and eligibility on the server."""
    if application.status not in EDITABLE:
        raise WorkflowError(_("This application has already been submitted."), code="read-only")
    if application.status is S.draft and not application.call.is_open(utcnow()):
        raise WorkflowError(_("The deadline has passed: the call closed on %(date)s.",
                              date=format_datetime(application.call.closes_at)), code="deadline")
    problems = submission_problems(application)
    if problems:
        raise SubmissionRefused(problems)
    application.submitted_at = utcnow()
    return transition(application, S.submitted, by=by)


def withdraw_application(application: Application, by: User, comment: str | None = None) -> StatusChange:
    return transition(application, S.withdrawn, by=by, comment=comment)


# --- The workflow ---------------------------------------------------------------------------------

def actor_for(user: User | None) -> Actor:
    if user is None:
        return Actor.system
    if user.role is Role.student:
        return Actor.student
    if user.role in STAFF:
        return Actor.staff
    raise WorkflowError(_("You cannot change the status of applications."), code="wrong-actor", status=403)


def refusal_message(exc: TransitionRefused) -> str:
    if exc.reason == "same":
        return _("The application is already %(status)s.", status=STATUS_LABELS[exc.from_status])
    return _("An application that is %(from)s cannot be changed to %(to)s.",
             **{"from": STATUS_LABELS[exc.from_status], "to": STATUS_LABELS[exc.to_status]})


def transition(application: Application, to_status: S, by: User | None = None, comment: str | None = None,
               actor: Actor | None = None, notify: bool = True) -> StatusChange:
    """Move the application along the workflow: checks TRANSITIONS, records who/when/comment, emails the student.

    `by` is the person acting (None for the system); `actor` defaults from their role (student / staff /
    system). The matching step passes actor=Actor.system and the coordinator who ran it as `by`.
    """
    to_status = S(to_status)
    actor = actor or actor_for(by)
    if actor is Actor.student and (by is None or by.id != application.student_id):
        raise WorkflowError(_("Only the applicant can do this."), code="not-owner", status=403)
    try:
        check_transition(application.status, to_status, actor)
    except TransitionRefused as exc:
        raise WorkflowError(refusal_message(exc), code=f"transition-{exc.reason}", field="status") from None
    change = StatusChange(application=application, from_status=application.status, to_status=to_status,
                          actor=actor, by_id=by.id if by else None, comment=(comment or "").strip() or None)
    db.session.add(change)
    application.status = to_status
    application.status_changed_at = utcnow()
    db.session.flush()
    application_status_changed.send(application, change=change, by=by)  # placements, certificates follow
    if notify:
        notify_status_change(application, change)
    return change


def check_version(application: Application, version) -> None:
    """Refuse a save made on a stale copy (another coordinator saved in the meantime)."""
    try:
        version = int(version)
    except (TypeError, ValueError):
        version = None
    if version != application.version_id:
        raise WorkflowError(_("Someone else changed this application while you were editing it (it is now %(status)s). "
                              "Nothing was saved: check the current state below; what you typed is still in the "
                              "form, so you can save it again.", status=STATUS_LABELS[application.status]),
                            code="conflict", status=409)


def bulk_transition(call: Call, application_ids: list[int], to_status: S, by: User,
                    comment: str | None = None) -> BulkResult:
    """Apply one transition to several applications of a call; each refusal is reported, not fatal."""
    result = BulkResult()
    applications = db.session.scalars(select(Application).where(Application.call_id == call.id,
                                                                 Application.id.in_(application_ids))
                                      .order_by(Application.id)).all()
    for application in applications:
        try:  # transition() checks everything before it changes anything
            transition(application, to_status, by=by, comment=comment)
        except WorkflowError as exc:
            result.refused.append((application, exc.message))
        else:
            result.done.append(application)
    return result


def set_placement(application: Application, place: CallPlace | None) -> None:
    """Record the place an application is matched to (None clears it). Statuses go through transition()."""
    if place is not None and place.call_id != application.call_id:
        raise ValueError("the place belongs to another call")
    application.placed_place_id = place.id if place else None
    application.placed_institution_id = place.condition.agreement.partner_id if place else None
    if place is None:
        _set_nominated_at(application, None)
    db.session.flush()


def _set_nominated_at(application: Application, at) -> None:
    """The one writer of ``Application.nominated_at`` (what lets the partner see the application)."""
    application.nominated_at = at


def mark_nominated(application: Application, at=None) -> None:
    """The student has been nominated to the partner of their place: its users may now see the application."""
    if application.placed_place_id is None:
        raise WorkflowError(_("Only a placed application can be nominated."), code="not-placed")
    _set_nominated_at(application, at or utcnow())
    db.session.flush()


def clear_nomination(application: Application) -> None:
    """The nomination ended (cancelled, rejected, the student withdrew): the partner no longer sees the application
    (the place stays recorded)."""
    _set_nominated_at(application, None)
    db.session.flush()


# --- Review ---------------------------------------------------------------------------------------

@cache
def _staff_users():  # built once per process: the review page runs it on every request
    return select(User.id, User.name).where(loading.may_review()).order_by(User.name)


def staff_users():
    """The active coordinators and administrators who may review, as plain (id, name) rows by name."""
    return db.session.execute(_staff_users()).all()


def assign_reviewer(application: Application, reviewer: User, by: User) -> Review:
    if reviewer.role not in STAFF or not reviewer.is_active:
        raise WorkflowError(_("Reviewers must be coordinators or administrators."), code="not-staff",
                            field="reviewer_id")
    if any(r.reviewer_id == reviewer.id for r in application.reviews):
        raise WorkflowError(_("%(name)s already reviews this application.", name=reviewer.name),
                            code="already-assigned", field="reviewer_id")
    review = Review(reviewer_id=reviewer.id, assigned_by_id=by.id)
    application.reviews.append(review)
    db.session.flush()
    return review


def unassign_reviewer(application: Application, review: Review) -> None:
    if review.application_id != application.id:
        raise WorkflowError(_("This reviewer does not review this application."), status=404)
    application.reviews.remove(review)
    db.session.flush()
    recompute_score(application)


def save_scores(application: Application, reviewer: User, scores: dict[int, object]) -> Review:
    """A reviewer's per-criterion scores (0–10, every criterion); updates their total and the mean."""
    if application.status is S.draft:
        raise WorkflowError(_("A draft cannot be scored."), code="draft")
    criteria = application.call.criteria
    if not criteria:
        raise WorkflowError(_("This call has no scoring criteria."), code="no-criteria")
    clean: dict[int, Decimal] = {}
    for criterion in criteria:
        value = scores.get(criterion.id)
        if value is None or value == "":
            raise WorkflowError(_("Give a score for every criterion."), code="score-missing", field=f"c{criterion.id}")
        try:
            clean[criterion.id] = scoring.check_score(value)
        except ValueError:
            raise WorkflowError(_("A score must be a number from 0 to 10."), code="score-range",
                                field=f"c{criterion.id}")
    review = next((r for r in application.reviews if r.reviewer_id == reviewer.id), None)
    if review is None:
        review = Review(reviewer_id=reviewer.id, assigned_by_id=reviewer.id)
        application.reviews.append(review)
        db.session.flush()
    existing = {s.criterion_id: s for s in review.scores}
    for criterion_id, value in clean.items():
        if criterion_id in existing:
            existing[criterion_id].score = value
        else:
            review.scores.append(ReviewScore(criterion_id=criterion_id, score=value))
    review.total = scoring.weighted_total(clean, {c.id: c.weight for c in criteria})
    review.scored_at = utcnow()
    db.session.flush()
    recompute_score(application)
    return review


def recompute_score(application: Application) -> None:
    new = scoring.mean_total(r.total for r in application.reviews)
    if new != application.score:
        application.score = new
    db.session.flush()


def add_comment(application: Application, author: User, body: str, internal: bool) -> ApplicationComment:
    body = (body or "").strip()
    if not body:
        raise WorkflowError(_("Write a comment first."), code="empty", field="body")
    comment = ApplicationComment(author_id=author.id, body=body, is_internal=internal)
    application.comments.append(comment)
    db.session.flush()
    if not internal:
        student = application.student
        mail.send_template(student.email, "application_message", locale=student.locale, application=application,
                           student=student, comment=comment,
                           link=mail.external_url("applications.detail", application_id=application.id))
    return comment


def student_messages(application: Application) -> list[dict]:
    """What the student sees as messages: comments to them and status changes with a comment, oldest first."""
    items = [{"at": c.created_at, "author": c.author, "body": c.body, "status": None}
             for c in application.comments if not c.is_internal]
    items += [{"at": h.at, "author": h.by if h.actor is not Actor.student else None, "body": h.comment,
               "status": h.to_status} for h in application.history if h.comment and h.actor is not Actor.student]
    return sorted(items, key=lambda item: item["at"])


def latest_messages(application_ids: list[int], n: int = 3) -> dict[int, list[dict]]:
    """{application id: its last `n` messages}, the same items in the same order as `student_messages`
    (comments to the student, status changes with a comment), in one statement of plain rows."""
    ids = list(application_ids)
    found: dict[int, list[dict]] = {i: [] for i in ids}
    if not ids:
        return found
    # The status changes come first in the union: their columns give the result its types (to_status).
    changes = (select(StatusChange.application_id, StatusChange.at.label("at"), literal(1).label("kind"),
                      StatusChange.id.label("id"), User.name, StatusChange.comment.label("body"),
                      StatusChange.to_status.label("status"))
               .outerjoin(User, User.id == StatusChange.by_id)
               .where(StatusChange.application_id.in_(ids), StatusChange.comment.is_not(None),
                      StatusChange.comment != "", StatusChange.actor != Actor.student))
    comments = (select(ApplicationComment.application_id, ApplicationComment.created_at, literal(0),
                       ApplicationComment.id, User.name, ApplicationComment.body, null())
                .outerjoin(User, User.id == ApplicationComment.author_id)
                .where(ApplicationComment.application_id.in_(ids), ApplicationComment.is_internal.is_(False)))
    both = union_all(changes, comments)
    columns = both.selected_columns
    # student_messages sorts comments, then changes, each in their own order, stably by time.
    for application_id, at, _kind, _id, name, body, status in db.session.execute(
            both.order_by(columns.at, columns.kind, columns.id)):
        found[application_id].append({"at": at, "author": loading.Person(name) if name is not None else None,
                                      "body": body, "status": status})
    return {i: messages[-n:] for i, messages in found.items()}


# --- Notifications --------------------------------------------------------------------------------

def notify_status_change(application: Application, change: StatusChange) -> None:
    """Email the student in their language, with a link back to the application."""
    student = application.student
    template = "application_submitted" if change.to_status is S.submitted else "application_status"
    mail.send_template(student.email, template, locale=student.locale, application=application, student=student,
                       change=change, call=application.call, when=format_datetime(change.at, user=student),
                       link=mail.external_url("applications.detail", application_id=application.id))


# --- Dates of birth ------------------------------------------------------------------------------

def plausible_birth_date(value: date, today: date | None = None) -> bool:
    today = today or date.today()
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    return 15 <= age <= 100
