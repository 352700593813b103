"""Partner institutions, contacts and inter-institutional agreements: queries and changes.

Plain functions over the models: they check the rules again (forms are not the only way in: the CSV
import and the demo seeder call them too), flush, and raise WorkflowError with the field concerned.
"""
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..core.i18n import lazy_gettext as _l
from sqlalchemy import Select, and_, bindparam, false, func, or_, select, true
from sqlalchemy.orm import contains_eager, selectinload

from ..auth.models import Role
from ..core import audit
from ..core.errors import WorkflowError, check_reason
from ..core.reference import CEFR_LEVELS, COUNTRY_CODES, EQF_LEVELS, LANGUAGE_CODES, isced_fields
from ..core.types import utcnow
from ..extensions import db
from . import codes
from .models import (TERMINATION_REASON_MAX, MAX_AGREEMENT_YEARS, MAX_LANGUAGES, MAX_MONTHS, MAX_PLACES, MIN_ACADEMIC_YEAR, TRANSITIONS,
                     YEARS_AHEAD, Agreement, AgreementStatus, CooperationCondition, Direction,
                     LanguageRequirement, MobilityType, PartnerContact, PartnerInstitution,
                     current_academic_year, effective_status)

# Messages shared by forms, services and the CSV import, so a rule reads the same wherever it is checked.
MAX_NOTES = 4000

MSG = {
    "too_long": _l("Use at most %(max)d characters."),
    "name_required": _l("Enter the institution's name."),
    "country": _l("Choose a country from the list (ISO 3166-1 code)."),
    "website": _l("Enter a full web address starting with https:// or http://, like https://www.unibo.it."),
    "schac_required": _l("Enter the SCHAC code."),
    "schac": _l("Enter a SCHAC code shaped like an internet domain, like unibo.it."),
    "schac_taken": _l("Another institution already has this SCHAC code."),
    "erasmus": _l("Enter an Erasmus code like \"I  BOLOGNA01\": country letters, the city in capitals, "
                  "then two digits."),
    "phone": _l("Enter a phone number with digits, spaces and an optional leading +, like +39 051 209 9111."),
    "years_order": _l("The last academic year cannot be before the first."),
    "years_range": _l("Choose academic years between %(first)s and %(last)s."),
    "years_span": _l("An agreement can cover at most %(count)d academic years."),
    "places": _l("Enter a number of places from 0 to %(max)d.", max=MAX_PLACES),
    "months": _l("Enter a number of months from 0 to %(max)d.", max=MAX_MONTHS),
    "isced": _l("Choose a subject area from the ISCED-F 2013 list."),
    "eqf": _l("Choose at least one EQF level."),
    "eqf_unknown": _l("Choose EQF levels from 5 to 8."),
    "language": _l("Choose a language from the list (ISO 639-1 code)."),
    "cefr": _l("Choose a CEFR level from A1 to C2."),
    "language_needs_level": _l("Choose the CEFR level required for this language."),
    "level_needs_language": _l("Choose the language this level is for."),
    "language_twice": _l("Each language can be required only once."),
    "too_many_languages": _l("At most %(count)d language requirements per condition.", count=MAX_LANGUAGES),
}


def message(key: str, **values) -> str:
    text = str(MSG[key])
    return text % values if values else text


# --- Visibility -------------------------------------------------------------------------------

def visible_institutions(user):
    """The SQL condition for the institutions a user may see: all for staff, their own for partners."""
    if user.is_staff:
        return PartnerInstitution.id.is_not(None)
    if user.role is Role.partner and user.institution_id:
        return PartnerInstitution.id == user.institution_id
    return false()


def visible_agreements(user):
    if user.is_staff:
        return Agreement.id.is_not(None)
    if user.role is Role.partner and user.institution_id:
        return Agreement.partner_id == user.institution_id
    return false()


def institution_query(user, institution_id: int) -> Select:
    return (select(PartnerInstitution)
            .where(PartnerInstitution.id == institution_id, visible_institutions(user))
            .options(selectinload(PartnerInstitution.contacts),
                     selectinload(PartnerInstitution.agreements).selectinload(Agreement.conditions)
                     .selectinload(CooperationCondition.languages)))


def agreement_query(user, agreement_id: int) -> Select:
    return (select(Agreement)
            .where(Agreement.id == agreement_id, visible_agreements(user))
            .options(selectinload(Agreement.partner),
                     selectinload(Agreement.conditions).selectinload(CooperationCondition.languages)))


# --- Institutions -----------------------------------------------------------------------------

INSTITUTION_SORTS = {
    "name": (PartnerInstitution.name, PartnerInstitution.id),
    "country": (PartnerInstitution.country, PartnerInstitution.name, PartnerInstitution.id),
    "city": (PartnerInstitution.city, PartnerInstitution.name, PartnerInstitution.id),
    "schac": (PartnerInstitution.schac_code,),
}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_institutions(q: str | None = None, country: str | None = None, sort: str | None = "name") -> Select:
    """Institutions matching a text (name, city, SCHAC or Erasmus code) and a country, sorted."""
    query = select(PartnerInstitution)
    if q and q.strip():
        pattern = _like(q.strip())
        query = query.where(or_(PartnerInstitution.name.ilike(pattern, escape="\\"),
                                PartnerInstitution.city.ilike(pattern, escape="\\"),
                                PartnerInstitution.schac_code.ilike(pattern, escape="\\"),
                                PartnerInstitution.erasmus_code.ilike(pattern, escape="\\")))
    if country:
        query = query.where(PartnerInstitution.country == country.upper())
    key = (sort or "name").lstrip("-")
    columns = INSTITUTION_SORTS.get(key, INSTITUTION_SORTS["name"])
    descending = bool(sort) and sort.startswith("-") and key in INSTITUTION_SORTS
    return query.order_by(*[c.desc() if descending else c.asc() for c in columns])


def partner_countries() -> list[str]:
    """Countries that have at least one partner institution (for filters)."""
    return list(db.session.scalars(select(PartnerInstitution.country).distinct().order_by(PartnerInstitution.country)))


def partner_choices() -> list[tuple[int, str]]:
    return [(row.id, row.name) for row in db.session.execute(
        select(PartnerInstitution.id, PartnerInstitution.name).order_by(PartnerInstitution.name))]


@dataclass(frozen=True)
class FilterChoices:
    """What the agreement filters offer: the partners as select choices (blank first) and their countries."""
    stamp: tuple
    partners: list  # [("", "All partners"), (str(id), name), ...], sorted by name
    countries: list[str]


_filter_choices: list[FilterChoices] = []


def partner_filter_choices() -> FilterChoices:
    """The partners and countries for the agreement filters, kept per process while the partners are unchanged.

    Each call reads the table's stamp (how many partners, the highest id, the latest update) in a one-row
    statement and reloads the list only when the stamp differs: a partner added or renamed in any process
    shows at the next request. The same list object is returned while it is valid, so the select's HTML can be
    kept too (forms.MemoSelect)."""
    stamp = tuple(db.session.execute(select(func.count(PartnerInstitution.id), func.max(PartnerInstitution.id),
                                            func.max(PartnerInstitution.updated_at))).one())
    if _filter_choices and _filter_choices[0].stamp == stamp:
        return _filter_choices[0]
    rows = db.session.execute(select(PartnerInstitution.id, PartnerInstitution.name, PartnerInstitution.country)
                              .order_by(PartnerInstitution.name)).all()
    found = FilterChoices(stamp=stamp, partners=[("", _l("All partners"))] + [(str(r.id), r.name) for r in rows],
                          countries=sorted({row.country for row in rows}))
    _filter_choices[:] = [found]
    return found


def active_agreement_counts(partner_ids: Iterable[int], academic_year: int | None = None) -> dict[int, int]:
    """Partner id → number of agreements in force (active, not expired), in one query."""
    ids = list(partner_ids)
    if not ids:
        return {}
    year = academic_year or current_academic_year()
    rows = db.session.execute(
        select(Agreement.partner_id, func.count(Agreement.id))
        .where(Agreement.partner_id.in_(ids), Agreement.status == AgreementStatus.active, Agreement.last_year >= year)
        .group_by(Agreement.partner_id))
    return dict(rows.all())


def schac_taken(schac_code: str, exclude_id: int | None = None) -> bool:
    query = select(PartnerInstitution.id).where(func.lower(PartnerInstitution.schac_code) == schac_code.lower())
    if exclude_id:
        query = query.where(PartnerInstitution.id != exclude_id)
    return db.session.scalar(query) is not None


def existing_schac_codes(candidates: Iterable[str]) -> set[str]:
    """Which of these (lower-case) SCHAC codes already belong to an institution, in one query."""
    wanted = sorted(set(candidates))
    if not wanted:
        return set()
    column = func.lower(PartnerInstitution.schac_code)
    return set(db.session.scalars(select(column).where(column.in_(wanted))))


@dataclass
class InstitutionData:
    name: str
    country: str
    schac_code: str
    city: str | None = None
    website: str | None = None
    erasmus_code: str | None = None
    notes: str | None = None


def check_institution(data: InstitutionData, exclude_id: int | None = None) -> InstitutionData:
    """Validate and normalise; raise WorkflowError for the first problem."""
    name = (data.name or "").strip()
    if not name:
        raise WorkflowError(message("name_required"), code="name", field="name")
    if len(name) > 200:
        raise WorkflowError(message("too_long", max=200), code="name", field="name")
    city = (data.city or "").strip()
    if len(city) > 120:
        raise WorkflowError(message("too_long", max=120), code="city", field="city")
    notes = (data.notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise WorkflowError(message("too_long", max=MAX_NOTES), code="notes", field="notes")
    country = (data.country or "").strip().upper()
    if country not in COUNTRY_CODES:
        raise WorkflowError(message("country"), code="country", field="country")
    if not (data.schac_code or "").strip():
        raise WorkflowError(message("schac_required"), code="schac", field="schac_code")
    schac = codes.normalise_schac(data.schac_code)
    if schac is None:
        raise WorkflowError(message("schac"), code="schac", field="schac_code")
    if schac_taken(schac, exclude_id):
        raise WorkflowError(message("schac_taken"), code="schac-taken", field="schac_code")
    website = None
    if (data.website or "").strip():
        website = codes.normalise_url(data.website)
        if website is None:
            raise WorkflowError(message("website"), code="website", field="website")
    erasmus = None
    if (data.erasmus_code or "").strip():
        erasmus = codes.normalise_erasmus(data.erasmus_code)
        if erasmus is None:
            raise WorkflowError(message("erasmus"), code="erasmus", field="erasmus_code")
    return InstitutionData(name=name, country=country, schac_code=schac, city=city or None, website=website,
                           erasmus_code=erasmus, notes=notes or None)


def create_institution(data: InstitutionData) -> PartnerInstitution:
    clean = check_institution(data)
    institution = PartnerInstitution(**clean.__dict__)
    db.session.add(institution)
    db.session.flush()
    return institution


def update_institution(institution: PartnerInstitution, data: InstitutionData) -> PartnerInstitution:
    clean = check_institution(data, exclude_id=institution.id)
    for key, value in clean.__dict__.items():
        setattr(institution, key, value)
    db.session.flush()
    return institution


def import_institutions(rows: Iterable[InstitutionData], by=None) -> list[PartnerInstitution]:
    """Create every row or none (the caller commits or rolls back); rows were checked by csv_import."""
    created = []
    for row in rows:
        created.append(create_institution(row))
    audit.record("partners_imported", user=by, detail=f"{len(created)} institutions")
    return created


# --- Contacts ---------------------------------------------------------------------------------

def _contact_values(name, role, email, phone) -> dict:
    name = (name or "").strip()
    if not name:
        raise WorkflowError(_l("Enter the contact's name."), code="name", field="name")
    phone_value = None
    if (phone or "").strip():
        phone_value = codes.normalise_phone(phone)
        if phone_value is None:
            raise WorkflowError(message("phone"), code="phone", field="phone")
    return {"name": name, "role": (role or "").strip() or None,
            "email": (email or "").strip().lower() or None, "phone": phone_value}


def add_contact(institution: PartnerInstitution, name: str, role: str | None = None, email: str | None = None,
                phone: str | None = None) -> PartnerContact:
    contact = PartnerContact(institution=institution, **_contact_values(name, role, email, phone))
    db.session.add(contact)
    db.session.flush()
    return contact


def update_contact(contact: PartnerContact, name: str, role: str | None = None, email: str | None = None,
                   phone: str | None = None) -> PartnerContact:
    for key, value in _contact_values(name, role, email, phone).items():
        setattr(contact, key, value)
    db.session.flush()
    return contact


def delete_contact(contact: PartnerContact) -> None:
    db.session.delete(contact)
    db.session.flush()


# --- Agreements -------------------------------------------------------------------------------

def year_bounds(today_year: int | None = None) -> tuple[int, int]:
    """The first and last academic year an agreement may start in."""
    return MIN_ACADEMIC_YEAR, (today_year or current_academic_year()) + YEARS_AHEAD


def check_years(first_year, last_year) -> None:
    from ..core.reference import academic_year_label
    low, high = year_bounds()
    if not isinstance(first_year, int) or not low <= first_year <= high:
        raise WorkflowError(message("years_range", first=academic_year_label(low), last=academic_year_label(high)),
                            code="years", field="first_year")
    if not isinstance(last_year, int) or last_year < first_year:
        raise WorkflowError(message("years_order"), code="years", field="last_year")
    if last_year - first_year + 1 > MAX_AGREEMENT_YEARS:
        raise WorkflowError(message("years_span", count=MAX_AGREEMENT_YEARS), code="years", field="last_year")


@dataclass
class ConditionData:
    direction: Direction
    isced_code: str
    eqf_levels: list[int]
    places_per_year: int
    months_per_place: int
    mobility_type: MobilityType = MobilityType.study
    languages: list[tuple[str, str]] = field(default_factory=list)  # (ISO 639-1, CEFR)


def check_condition(data: ConditionData) -> ConditionData:
    try:
        direction = Direction(data.direction)
    except ValueError:
        raise WorkflowError(_l("Choose a direction."), code="direction", field="direction")
    try:
        mobility_type = MobilityType(data.mobility_type)
    except ValueError:
        raise WorkflowError(_l("Choose a mobility type."), code="mobility-type", field="mobility_type")
    if data.isced_code not in isced_fields():
        raise WorkflowError(message("isced"), code="isced", field="isced_code")
    levels = sorted({int(level) for level in data.eqf_levels or []})
    if not levels:
        raise WorkflowError(message("eqf"), code="eqf", field="eqf_levels")
    if any(level not in EQF_LEVELS for level in levels):
        raise WorkflowError(message("eqf_unknown"), code="eqf", field="eqf_levels")
    for value, key, name in ((data.places_per_year, "places", "places_per_year"),
                             (data.months_per_place, "months", "months_per_place")):
        limit = MAX_PLACES if key == "places" else MAX_MONTHS
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
            raise WorkflowError(message(key), code=key, field=name)
    languages = []
    for language, level in data.languages or []:
        language, level = (language or "").strip().lower(), (level or "").strip().upper()
        if language not in LANGUAGE_CODES:
            raise WorkflowError(message("language"), code="language", field="languages")
        if level not in CEFR_LEVELS:
            raise WorkflowError(message("cefr"), code="cefr", field="languages")
        if any(language == seen for seen, _level in languages):
            raise WorkflowError(message("language_twice"), code="language-twice", field="languages")
        languages.append((language, level))
    if len(languages) > MAX_LANGUAGES:
        raise WorkflowError(message("too_many_languages"), code="languages", field="languages")
    return ConditionData(direction=direction, mobility_type=mobility_type, isced_code=data.isced_code,
                         eqf_levels=levels, places_per_year=data.places_per_year,
                         months_per_place=data.months_per_place, languages=languages)


def _apply_condition(condition: CooperationCondition, data: ConditionData) -> None:
    clean = check_condition(data)
    condition.direction = clean.direction
    condition.mobility_type = clean.mobility_type
    condition.isced_code = clean.isced_code
    condition.eqf_level_list = clean.eqf_levels
    condition.places_per_year = clean.places_per_year
    condition.months_per_place = clean.months_per_place
    existing = {req.language: req for req in condition.languages}
    wanted = []
    for language, level in clean.languages:
        requirement = existing.pop(language, None) or LanguageRequirement(language=language)
        requirement.cefr_level = level
        wanted.append(requirement)
    condition.languages = wanted


def _check_text(value: str | None, max_length: int, field_name: str) -> None:
    if value and len(value.strip()) > max_length:
        raise WorkflowError(message("too_long", max=max_length), code=field_name, field=field_name)


def _check_editable(agreement: Agreement) -> None:
    if not agreement.is_editable:
        raise WorkflowError(_l("This agreement has been terminated and can no longer be changed."),
                            code="terminated", status=409)


def create_agreement(partner: PartnerInstitution, *, first_year: int, last_year: int, condition: ConditionData,
                     status: AgreementStatus = AgreementStatus.draft, reference: str | None = None,
                     notes: str | None = None) -> Agreement:
    """A new agreement with its first cooperation condition (an agreement always has at least one)."""
    check_years(first_year, last_year)
    check_condition(condition)
    _check_text(reference, 64, "reference")
    _check_text(notes, MAX_NOTES, "notes")
    status = AgreementStatus(status)
    if status not in (AgreementStatus.draft, AgreementStatus.active):
        raise WorkflowError(_l("A new agreement is either a draft or active."), code="status", field="status")
    agreement = Agreement(partner=partner, first_year=first_year, last_year=last_year, status=status,
                          reference=(reference or "").strip() or None, notes=(notes or "").strip() or None)
    first = CooperationCondition()
    _apply_condition(first, condition)
    agreement.conditions.append(first)
    db.session.add(agreement)
    db.session.flush()
    return agreement


def update_agreement(agreement: Agreement, *, partner: PartnerInstitution, first_year: int, last_year: int,
                     status: AgreementStatus, reference: str | None = None, notes: str | None = None) -> Agreement:
    _check_editable(agreement)
    check_years(first_year, last_year)
    _check_text(reference, 64, "reference")
    _check_text(notes, MAX_NOTES, "notes")
    status = AgreementStatus(status)
    if status is not agreement.status and status not in TRANSITIONS[agreement.status]:
        raise WorkflowError(_l("An active agreement cannot go back to draft; terminate it instead."),
                            code="status", field="status")
    if partner.id != agreement.partner_id and agreement.status is not AgreementStatus.draft:
        raise WorkflowError(_l("The partner of an agreement can only be changed while it is a draft."),
                            code="partner", field="partner_id")
    agreement.partner = partner
    agreement.first_year, agreement.last_year = first_year, last_year
    agreement.status = status
    agreement.reference = (reference or "").strip() or None
    agreement.notes = (notes or "").strip() or None
    db.session.flush()
    return agreement


def terminate_agreement(agreement: Agreement, reason: str, by=None) -> Agreement:
    reason = check_reason(reason, TERMINATION_REASON_MAX, missing=_l("Give the reason for the termination."))
    if agreement.status is AgreementStatus.terminated:
        raise WorkflowError(_l("This agreement has already been terminated."), code="terminated", status=409)
    if not agreement.can_terminate():
        raise WorkflowError(_l("This agreement has already expired."), code="expired", status=409)
    agreement.status = AgreementStatus.terminated
    agreement.terminated_at = utcnow()
    agreement.termination_reason = reason[:500]
    audit.record("agreement_terminated", user=by, detail=f"agreement {agreement.id} ({agreement.partner.schac_code})")
    db.session.flush()
    return agreement


def add_condition(agreement: Agreement, data: ConditionData) -> CooperationCondition:
    _check_editable(agreement)
    condition = CooperationCondition()
    _apply_condition(condition, data)
    agreement.conditions.append(condition)
    db.session.flush()
    return condition


def update_condition(condition: CooperationCondition, data: ConditionData) -> CooperationCondition:
    _check_editable(condition.agreement)
    _apply_condition(condition, data)
    db.session.flush()
    return condition


def delete_condition(condition: CooperationCondition) -> None:
    agreement = condition.agreement
    _check_editable(agreement)
    if len(agreement.conditions) <= 1:
        raise WorkflowError(_l("An agreement needs at least one cooperation condition. Add another one first."),
                            code="last-condition", status=409)
    agreement.conditions.remove(condition)
    db.session.flush()


# --- Agreement list ---------------------------------------------------------------------------

@dataclass
class AgreementFilters:
    partner_id: int | None = None
    country: str | None = None
    isced_code: str | None = None
    direction: Direction | None = None
    status: AgreementStatus | None = None
    academic_year: int | None = None   # agreements covering this year
    ending_year: int | None = None     # agreements whose last year is this one


AGREEMENT_SORTS = {
    "partner": (PartnerInstitution.name, Agreement.first_year.desc(), Agreement.id),
    "country": (PartnerInstitution.country, PartnerInstitution.name, Agreement.id),
    "first_year": (Agreement.first_year, PartnerInstitution.name, Agreement.id),
    "last_year": (Agreement.last_year, PartnerInstitution.name, Agreement.id),
}


def status_condition(status: AgreementStatus, academic_year: int | None = None):
    """SQL for an effective status: "expired" and "active" depend on the years (`academic_year` may be a bound
    parameter)."""
    year = academic_year if academic_year is not None else current_academic_year()
    if status is AgreementStatus.expired:
        return and_(Agreement.status == AgreementStatus.active, Agreement.last_year < year)
    if status is AgreementStatus.active:
        return and_(Agreement.status == AgreementStatus.active, Agreement.last_year >= year)
    return Agreement.status == status


def _filtered_agreements(query, user, filters: AgreementFilters, sort: str | None):
    """The query (over Agreement joined to its partner) restricted to what the user may see and the filters, sorted."""
    query = query.where(visible_agreements(user))
    if filters.partner_id:
        query = query.where(Agreement.partner_id == filters.partner_id)
    if filters.country:
        query = query.where(PartnerInstitution.country == filters.country.upper())
    if filters.isced_code or filters.direction:
        matching = select(CooperationCondition.agreement_id)
        if filters.isced_code:
            matching = matching.where(CooperationCondition.isced_code == filters.isced_code)
        if filters.direction:
            matching = matching.where(CooperationCondition.direction == filters.direction)
        query = query.where(Agreement.id.in_(matching))
    if filters.status:
        query = query.where(status_condition(filters.status))
    if filters.academic_year:
        query = query.where(Agreement.first_year <= filters.academic_year,
                            Agreement.last_year >= filters.academic_year)
    if filters.ending_year:
        query = query.where(Agreement.last_year == filters.ending_year)
    key = (sort or "partner").lstrip("-")
    columns = AGREEMENT_SORTS.get(key, AGREEMENT_SORTS["partner"])
    if sort and sort.startswith("-") and key in AGREEMENT_SORTS:
        first, *rest = columns
        columns = (first.desc(), *rest)
    return query.order_by(*columns)


def search_agreements(user, filters: AgreementFilters, sort: str | None = "partner",
                      with_languages: bool = True) -> Select:
    """with_languages=False: the conditions without their language requirements (pages that only count places)."""
    conditions = selectinload(Agreement.conditions)
    query = (select(Agreement).join(Agreement.partner)
             .options(contains_eager(Agreement.partner),
                      conditions.selectinload(CooperationCondition.languages) if with_languages else conditions))
    return _filtered_agreements(query, user, filters, sort)


@dataclass
class AgreementRow:
    """An agreement as the list of agreements shows it: plain values, no ORM objects."""
    id: int
    partner_name: str
    partner_country: str
    reference: str | None
    first_year: int
    last_year: int
    status: AgreementStatus
    outgoing_places: int = 0
    incoming_places: int = 0
    isced_codes: list[str] = field(default_factory=list)  # subject areas of its conditions, each once, in order

    def effective_status(self, academic_year: int | None = None) -> AgreementStatus:
        return effective_status(self.status, self.last_year, academic_year)


def agreement_rows_query(user, filters: AgreementFilters, sort: str | None = "partner") -> Select:
    """search_agreements as a select of the columns the list shows (see agreement_rows)."""
    query = (select(Agreement.id, PartnerInstitution.name, PartnerInstitution.country, Agreement.reference,
                    Agreement.first_year, Agreement.last_year, Agreement.status)
             .join(PartnerInstitution, PartnerInstitution.id == Agreement.partner_id))
    return _filtered_agreements(query, user, filters, sort)


def agreement_rows(rows) -> list[AgreementRow]:
    """AgreementRows for rows of agreement_rows_query, with places and subject areas from their conditions
    (one statement for all of them)."""
    agreements = {row[0]: AgreementRow(*row[:7]) for row in rows}
    if agreements:
        conditions = db.session.execute(
            select(CooperationCondition.agreement_id, CooperationCondition.direction,
                   CooperationCondition.isced_code, CooperationCondition.places_per_year)
            .where(CooperationCondition.agreement_id.in_(agreements))
            .order_by(CooperationCondition.agreement_id, CooperationCondition.direction,
                      CooperationCondition.isced_code, CooperationCondition.id))
        for agreement_id, direction, isced_code, places in conditions:
            agreement = agreements[agreement_id]
            if direction is Direction.outgoing:
                agreement.outgoing_places += places
            else:
                agreement.incoming_places += places
            if isced_code not in agreement.isced_codes:
                agreement.isced_codes.append(isced_code)
    return list(agreements.values())


@functools.cache
def _agreement_counts_statement():
    """Built once per process (building it cost more than running it); the year is a parameter."""
    year = bindparam("year")
    return select(
        select(func.count(PartnerInstitution.id)).scalar_subquery().label("partners"),
        func.count(Agreement.id).filter(status_condition(AgreementStatus.active, year)).label("active"),
        func.count(Agreement.id).filter(Agreement.status == AgreementStatus.active,
                                        Agreement.last_year == year).label("expiring"),
        func.count(Agreement.id).filter(Agreement.status == AgreementStatus.draft).label("drafts"),
    ).select_from(Agreement)


def agreement_counts(academic_year: int | None = None) -> dict[str, int]:
    """Numbers for the coordinators' home page, in one statement."""
    row = db.session.execute(_agreement_counts_statement(),
                             {"year": academic_year or current_academic_year()}).one()
    return {key: value or 0 for key, value in row._mapping.items()}


def _places_column(direction: Direction):
    """SQL: the places per year of the Agreement row's conditions in one direction (a correlated sum)."""
    return (select(func.coalesce(func.sum(CooperationCondition.places_per_year), 0))
            .where(CooperationCondition.agreement_id == Agreement.id, CooperationCondition.direction == direction)
            .correlate(Agreement).scalar_subquery())


@dataclass(frozen=True)
class PartnerSummary:
    """A partner user's home panel: their institution and the agreements in force."""
    institution_id: int
    institution_name: str
    active_count: int  # agreements in force
    agreements: list  # rows: id, first_year, last_year, outgoing_places, incoming_places (latest last year first)


@functools.cache
def _partner_summary_statement(limit: int):
    """Built once per process; the institution and the year are parameters."""
    institution_id = bindparam("institution_id")
    in_force = and_(Agreement.partner_id == institution_id,
                    status_condition(AgreementStatus.active, bindparam("year")))
    active = (select(Agreement.id, Agreement.first_year, Agreement.last_year,
                     _places_column(Direction.outgoing).label("outgoing_places"),
                     _places_column(Direction.incoming).label("incoming_places"),
                     func.count().over().label("active_count"))
              .where(in_force).order_by(Agreement.last_year.desc(), Agreement.id).limit(limit).subquery("active"))
    return (select(PartnerInstitution.id.label("institution_id"), PartnerInstitution.name, active)
            .outerjoin(active, true()).where(PartnerInstitution.id == institution_id)
            .order_by(active.c.last_year.desc(), active.c.id))


def partner_summary(institution_id: int, academic_year: int | None = None, limit: int = 5) -> PartnerSummary | None:
    """The institution with its agreements in force (at most `limit`, and how many in all), in one statement:
    the institution LEFT JOINed to its agreements, so it comes back when it has none. None when it does not exist."""
    rows = db.session.execute(_partner_summary_statement(limit), {
        "institution_id": institution_id, "year": academic_year or current_academic_year()}).all()
    if not rows:
        return None
    return PartnerSummary(institution_id=rows[0].institution_id, institution_name=rows[0].name,
                          active_count=rows[0].active_count or 0,
                          agreements=[row for row in rows if row.id is not None])


# --- Exchange balance -------------------------------------------------------------------------

@dataclass
class YearBalance:
    """Places for one partner and one academic year. Student counts can be added here later."""
    outgoing_places: int = 0
    incoming_places: int = 0

    @property
    def difference(self) -> int:
        """Positive: we send more students than we receive."""
        return self.outgoing_places - self.incoming_places


@dataclass
class PartnerBalance:
    partner_id: int | None
    name: str
    country: str | None
    years: dict[int, YearBalance]


def balance_years(first_year: int | None = None, count: int = 3) -> list[int]:
    first = first_year or current_academic_year()
    return list(range(first, first + count))


def accumulate_balance(rows: Iterable[tuple], years: Iterable[int]) -> dict:
    """Pure: (key, first_year, last_year, direction, places) rows → key → {year: YearBalance}."""
    years = list(years)
    result: dict = {}
    for key, first_year, last_year, direction, places in rows:
        per_year = result.setdefault(key, {year: YearBalance() for year in years})
        for year in years:
            if first_year <= year <= last_year:
                if Direction(direction) is Direction.outgoing:
                    per_year[year].outgoing_places += int(places or 0)
                else:
                    per_year[year].incoming_places += int(places or 0)
    return result


def _balance_rows(years: list[int], partner_ids: list[int] | None, by_partner: bool = True):
    low, high = min(years), max(years)
    columns = [Agreement.partner_id] if by_partner else []
    query = (select(*columns, Agreement.first_year, Agreement.last_year, CooperationCondition.direction,
                    func.sum(CooperationCondition.places_per_year))
             .join(Agreement.conditions)
             .where(Agreement.status == AgreementStatus.active, Agreement.first_year <= high,
                    Agreement.last_year >= low)
             .group_by(*columns, Agreement.first_year, Agreement.last_year, CooperationCondition.direction))
    if partner_ids is not None:
        query = query.where(Agreement.partner_id.in_(partner_ids))
    rows = db.session.execute(query).all()
    return rows if by_partner else [(None, *row) for row in rows]


def exchange_balance(partner_id: int | None = None, years: Iterable[int] | None = None, *,
                     partner_ids: Iterable[int] | None = None) -> list[PartnerBalance]:
    """Places per direction and academic year, per partner, from the active agreements covering each year.

    Only places for now: when placements exist, add the number of students actually sent and received to
    YearBalance (e.g. `outgoing_students`, `incoming_students`) and fill them here with one more grouped
    query. Partners without any place in these years are left out; the list is sorted by partner name.
    """
    years = sorted(set(years or balance_years()))
    ids = None
    if partner_id is not None:
        ids = [partner_id]
    elif partner_ids is not None:
        ids = list(partner_ids)
    if ids == []:
        return []
    per_partner = accumulate_balance(_balance_rows(years, ids), years)
    if not per_partner:
        return []
    names = {row.id: row for row in db.session.execute(
        select(PartnerInstitution.id, PartnerInstitution.name, PartnerInstitution.country)
        .where(PartnerInstitution.id.in_(list(per_partner))))}
    result = [PartnerBalance(pid, names[pid].name, names[pid].country, per_year)
              for pid, per_year in per_partner.items()]
    return sorted(result, key=lambda item: (item.name.lower(), item.partner_id))


def balance_totals(years: Iterable[int]) -> dict[int, YearBalance]:
    """The sum over every partner, per academic year."""
    years = sorted(set(years))
    totals = accumulate_balance(_balance_rows(years, None, by_partner=False), years)
    return totals.get(None, {year: YearBalance() for year in years})


def partners_with_places(years: Iterable[int], country: str | None = None) -> Select:
    """Partners with an active agreement overlapping the years (the rows of the balance table)."""
    years = list(years)
    overlapping = (select(Agreement.partner_id)
                   .where(Agreement.status == AgreementStatus.active,
                          Agreement.first_year <= max(years), Agreement.last_year >= min(years)))
    query = select(PartnerInstitution).where(PartnerInstitution.id.in_(overlapping))
    if country:
        query = query.where(PartnerInstitution.country == country.upper())
    return query.order_by(PartnerInstitution.name, PartnerInstitution.id)
