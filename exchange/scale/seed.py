"""Generate the scale data set with bulk inserts (SQLAlchemy Core `insert()` with lists of dicts).

What `seed_scale(SeedSizes(students=50_000, partners=500, events=300))` writes, in one transaction:

* the home institution (when missing);
* ``partners`` partner institutions, each with two contacts, a main inter-institutional agreement (mostly
  active, covering this year and the next) with outgoing and incoming cooperation conditions and language
  requirements, and for one in five an older expired, terminated or draft agreement;
* accounts: 2 administrators, 10 coordinators, one partner user per institution, ``students`` students.
  Every generated account has the password :data:`PASSWORD`, hashed ONCE (the same hash on every row);
* three calls with scoring criteria and places (the outgoing study conditions of the active agreements):
  - the large call (next academic year, closed, reviewed): an application of EVERY student, in realistic
    statuses (mostly eligible, with reviewers' scores), up to five ranked choices, language skills,
    documents, the status history and a few comments — the input of a matching run;
  - an open call (next year, spring) with applications of one student in ten (drafts and in review);
  - last year's call, finished: one student in sixteen, most placed and accepted, nominated to the
    partner (``placed_institution_id`` and ``nominated_at`` set), so partners see their nominees;
* ``events`` events over the past and the next six months (published, some drafts and cancelled), with
  registration questions for some, and registrations of students (confirmed up to the capacity, then
  waitlisted; past ones checked in) and partner users for partner events.

The same seed and sizes give the same rows (dates are relative to the day it runs; session tokens and
check-in codes of accounts are drawn from the seeded generator too). Row ids are assigned here, from the
table's current maximum; on PostgreSQL the id sequences are moved past them at the end. The data set can
be loaded once per database: a second run is refused (the accounts end in ``@scale.test``).

Matching runs, offers, nominations and certificates are not generated yet (their domains are in progress).
"""
from __future__ import annotations

import os
import random
import string
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from sqlalchemy import func, insert, select, text
from werkzeug.security import generate_password_hash

from ..applications.models import (Application, ApplicationChoice, ApplicationComment, ApplicationDocument, Call,
                                   CallPeriod, CallPlace, DocumentKind, LanguageSkill, Review, ReviewScore,
                                   ScoringCriterion, StatusChange)
from ..applications.scoring import GpaScale
from ..applications.workflow import Actor
from ..applications.workflow import ApplicationStatus as S
from ..auth.models import Role, User
from ..core.reference import isced_fields
from ..core.types import utcnow
from ..events.models import (Audience, Event, EventCategory, EventQuestion, EventStatus, QuestionKind, Registration,
                             RegistrationAnswer, RegistrationStatus)
from ..core.demo import minimal_pdf
from ..extensions import db
from ..partners.models import (Agreement, AgreementStatus, CooperationCondition, Direction, HomeInstitution,
                               LanguageRequirement, MobilityType, PartnerContact, PartnerInstitution,
                               current_academic_year)

PASSWORD = "scale-password"
EMAIL_DOMAIN = "scale.test"
LARGE_CALL_MARK = "(scale data set)"


class ScaleError(Exception):
    pass


@dataclass(frozen=True)
class SeedSizes:
    students: int = 50_000
    partners: int = 500
    events: int = 300


@dataclass
class Summary:
    rows: dict[str, int] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)
    call_id: int | None = None
    password: str = PASSWORD

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# --- Reference data for the generator -------------------------------------------------------------

#: Faker locale → (country, language, how a university is called there)
LOCALES = {
    "es_ES": ("ES", "es", "Universidad de {city}"),
    "it_IT": ("IT", "it", "Università di {city}"),
    "fr_FR": ("FR", "fr", "Université de {city}"),
    "de_DE": ("DE", "de", "Universität {city}"),
    "pt_PT": ("PT", "pt", "Universidade de {city}"),
    "pl_PL": ("PL", "pl", "Uniwersytet {city}"),
    "nl_NL": ("NL", "nl", "Universiteit {city}"),
    "en_GB": ("GB", "en", "University of {city}"),
    "sv_SE": ("SE", "sv", "{city} universitet"),
    "cs_CZ": ("CZ", "cs", "Univerzita {city}"),
}
#: Subject areas offered (ISCED-F 2013), filtered against the reference list at run time.
ISCED_CODES = ["0231", "0232", "0222", "0311", "0312", "0413", "0414", "0421", "0511", "0533", "0541",
               "0613", "0714", "0715", "0732", "0912", "0913", "0213", "0314", "1015"]
CEFR = ["A2", "B1", "B2", "C1", "C2"]
DOCUMENTS = [DocumentKind.transcript, DocumentKind.cv]
PROGRAMME_PREFIX = {6: "Bachelor in", 7: "Master in"}
MOTIVATIONS = [
    "I want to spend a semester abroad to deepen my knowledge of {field} in a different academic tradition, "
    "improve my languages and learn to work with students from other countries. The courses offered by my "
    "first choice fit my study plan.",
    "Studying abroad has been my goal since my first year. The exchange would allow me to follow courses in "
    "{field} taught by internationally known researchers and to prepare for a master's degree abroad.",
    "My final project is related to {field}, and the partner universities I chose have research groups "
    "working on exactly this topic. Living in another country will also make me more independent.",
    "An exchange in {field} would complete my degree with subjects my faculty does not offer, and the "
    "experience of living abroad would help me in the international career I am preparing for.",
]
EVENT_TITLES = {
    EventCategory.welcome: ["Welcome day", "Campus tour", "Welcome breakfast", "Orientation session"],
    EventCategory.language_tandem: ["Language tandem evening", "Tandem café", "Conversation exchange"],
    EventCategory.cultural_evening: ["International dinner", "Film night", "Music night", "Poetry evening"],
    EventCategory.excursion: ["Day trip to the coast", "Mountain hike", "Old town walk", "Museum visit"],
    EventCategory.workshop: ["Intercultural workshop", "CV workshop", "Photography workshop", "Cooking workshop"],
    EventCategory.national_day: ["National day celebration", "Independence day party", "Festival evening"],
    EventCategory.other: ["Board games afternoon", "Volunteering day", "Sports tournament"],
}
VENUES = ["Main hall, Building A", "Student centre", "Library, room 2.14", "Faculty of Arts, patio",
          "International office", "Sports centre", "Meeting point: main entrance"]
CHECKIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CENT = Decimal("0.01")

#: Status mixes (weights in percent) of the three calls.
LARGE_CALL_MIX = [(S.eligible, 72), (S.ineligible, 8), (S.under_review, 6), (S.submitted, 3),
                  (S.changes_requested, 2), (S.withdrawn, 5), (S.draft, 4)]
OPEN_CALL_MIX = [(S.draft, 45), (S.submitted, 30), (S.under_review, 15), (S.changes_requested, 5),
                 (S.withdrawn, 5)]
PAST_CALL_MIX = [(S.accepted, 55), (S.declined, 8), (S.not_placed, 22), (S.withdrawn, 6), (S.ineligible, 9)]

#: The path through the workflow to each status: (from, to, actor) steps after the initial draft.
PATHS = {
    S.draft: [],
    S.submitted: [(S.draft, S.submitted, Actor.student)],
    S.under_review: [(S.draft, S.submitted, Actor.student), (S.submitted, S.under_review, Actor.staff)],
    S.changes_requested: [(S.draft, S.submitted, Actor.student), (S.submitted, S.under_review, Actor.staff),
                          (S.under_review, S.changes_requested, Actor.staff)],
    S.eligible: [(S.draft, S.submitted, Actor.student), (S.submitted, S.under_review, Actor.staff),
                 (S.under_review, S.eligible, Actor.staff)],
    S.ineligible: [(S.draft, S.submitted, Actor.student), (S.submitted, S.under_review, Actor.staff),
                   (S.under_review, S.ineligible, Actor.staff)],
    S.withdrawn: [(S.draft, S.submitted, Actor.student), (S.submitted, S.withdrawn, Actor.student)],
}
PATHS[S.not_placed] = PATHS[S.eligible] + [(S.eligible, S.not_placed, Actor.system)]
PATHS[S.accepted] = PATHS[S.eligible] + [(S.eligible, S.placed, Actor.system), (S.placed, S.accepted, Actor.student)]
PATHS[S.declined] = PATHS[S.eligible] + [(S.eligible, S.placed, Actor.system), (S.placed, S.declined, Actor.student)]

#: Steps whose row records the student as the person (the others: a coordinator).
STUDENT_STEPS = {S.submitted, S.withdrawn, S.accepted, S.declined}


def _d(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _weighted(rng: random.Random, mix):
    return rng.choices([s for s, _w in mix], weights=[w for _s, w in mix])[0]


# --- Bulk writing ---------------------------------------------------------------------------------

class Writer:
    """Buffers rows per table and inserts them in batches with Core executemany; counts what it wrote."""

    def __init__(self, connection, batch_size: int):
        self.connection = connection
        self.batch_size = batch_size
        self.buffers: dict = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.next_ids: dict[str, int] = {}

    def new_id(self, table) -> int:
        if table.name not in self.next_ids:
            current = self.connection.scalar(select(func.max(table.c.id)))
            self.next_ids[table.name] = (current or 0) + 1
        value = self.next_ids[table.name]
        self.next_ids[table.name] = value + 1
        return value

    def add(self, table, row: dict) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.batch_size:
            self.flush()  # every table, parents first: a child row never goes in before its parent

    def flush(self, table=None) -> None:
        tables = [table] if table is not None else [t for t in db.metadata.sorted_tables if t in self.buffers]
        for t in tables:
            rows = self.buffers.pop(t, [])
            if rows:
                self.connection.execute(insert(t), rows)
                self.counts[t.name] += len(rows)

    def fix_sequences(self) -> None:
        """PostgreSQL: move each id sequence past the ids written here."""
        if self.connection.dialect.name != "postgresql":
            return
        for name in self.next_ids:
            self.connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"))


# --- The generator --------------------------------------------------------------------------------

class ScaleSeeder:
    def __init__(self, sizes: SeedSizes, seed: int, writer: Writer, write_files: bool, progress: Callable):
        from faker import Faker

        self.sizes = sizes
        self.rng = random.Random(seed)
        self.w = writer
        self.write_files = write_files
        self.progress = progress
        self.now = utcnow().replace(second=0, microsecond=0)
        self.year = current_academic_year()
        self.isced = [code for code in ISCED_CODES if code in isced_fields()]
        self.password_hash = generate_password_hash(PASSWORD, method=self._hash_method())
        fake = Faker(list(LOCALES))
        fake.seed_instance(seed)
        # Name and city pools per locale (Faker is called a few thousand times, not once per row).
        self.first_names = {loc: [fake[loc].first_name() for _ in range(150)] for loc in LOCALES}
        self.last_names = {loc: [fake[loc].last_name() for _ in range(150)] for loc in LOCALES}
        self.cities = {loc: sorted({fake[loc].city() for _ in range(120)}) for loc in LOCALES}
        self.checkin_codes: set[str] = set()
        self.summary = Summary()

    @staticmethod
    def _hash_method() -> str:
        from flask import current_app
        return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")

    # helpers
    def at(self, days_ago_min: float, days_ago_max: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(days_ago_min, days_ago_max))

    def token(self, length: int = 43) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def person_name(self, locale: str | None = None) -> str:
        locale = locale or self.rng.choice(list(LOCALES))
        return f"{self.rng.choice(self.first_names[locale])} {self.rng.choice(self.last_names[locale])}"

    # --- partners, agreements ---------------------------------------------------------------------

    def home(self) -> None:
        if db.session.scalar(select(func.count(HomeInstitution.id))):
            return
        self.w.add(HomeInstitution.__table__, {
            "id": self.w.new_id(HomeInstitution.__table__), "name": "Universidad de la Escala", "country": "ES",
            "city": "Valencia", "schac_code": "escala.es", "erasmus_code": "E  VALENCI99",
            "website": "https://www.escala.es", "office_email": "international@escala.es", "logo_path": None,
            "signatory_name": "Dra. Elena Ruiz", "signatory_title": "Vice-rector for International Relations",
            "signature_path": None})

    def partners(self) -> None:
        rng, T = self.rng, PartnerInstitution.__table__
        self.institutions = []  # (id, locale, country, language, fields)
        used_names = set()
        for i in range(1, self.sizes.partners + 1):
            locale = rng.choice(list(LOCALES))
            country, language, pattern = LOCALES[locale]
            city = rng.choice(self.cities[locale])
            name = pattern.format(city=city)
            if name in used_names:
                name = f"{name} {['II', 'III', 'Tech', 'Polytechnic', 'Business School'][i % 5]} {i}"
            used_names.add(name)
            slug = "".join(ch for ch in city.lower() if ch.isascii() and ch.isalnum())[:20] or "uni"
            institution_id = self.w.new_id(T)
            created = self.at(200, 2000)
            self.w.add(T, {
                "id": institution_id, "name": name, "country": country, "city": city,
                "website": f"https://www.{slug}{i}.example.{country.lower()}",
                "schac_code": f"{slug}{i}.example.{country.lower()}",
                "erasmus_code": f"{country[0]}  {slug.upper()[:7]}{i % 100:02d}"[:20] if rng.random() < .8 else None,
                "notes": None, "created_at": created, "updated_at": created})
            fields = rng.sample(self.isced, k=rng.randint(2, 5))
            self.institutions.append((institution_id, locale, country, language, fields))
        self.w.flush(T)
        C = PartnerContact.__table__
        for institution_id, locale, _country, _language, _fields in self.institutions:
            for role in ("Incoming mobility coordinator", "Outgoing mobility officer"):
                name = self.person_name(locale)
                self.w.add(C, {"id": self.w.new_id(C), "institution_id": institution_id, "name": name, "role": role,
                               "email": f"{name.split()[0].lower()}.{institution_id}@partner.example",
                               "phone": f"+{rng.randint(30, 49)} {rng.randint(100, 999)} {rng.randint(100000, 999999)}"})
        self.w.flush(C)
        self.progress(f"{len(self.institutions):,} partner institutions with contacts")

    def agreements(self) -> None:
        rng, A = self.rng, Agreement.__table__
        K, L = CooperationCondition.__table__, LanguageRequirement.__table__
        self.conditions = []  # (condition id, institution id, direction, mobility, isced, eqf, places, langs, first, last, active)
        for institution_id, _locale, _country, language, fields in self.institutions:
            specs = [("main", AgreementStatus.active if rng.random() < .92 else AgreementStatus.draft,
                      self.year - rng.randint(0, 3), self.year + rng.randint(1, 4))]
            if rng.random() < .2:
                kind = rng.choice([AgreementStatus.terminated, AgreementStatus.active, AgreementStatus.draft])
                specs.append(("old", kind, self.year - rng.randint(5, 8), self.year - rng.randint(1, 3)))
            for which, status, first, last in specs:
                agreement_id = self.w.new_id(A)
                created = self.at(100, 1500)
                self.w.add(A, {
                    "id": agreement_id, "partner_id": institution_id, "first_year": first, "last_year": last,
                    "status": status, "reference": f"IIA-{first}-{institution_id:05d}-{which}", "notes": None,
                    "terminated_at": created + timedelta(days=200) if status is AgreementStatus.terminated else None,
                    "termination_reason": "The partner closed the programme." if status is AgreementStatus.terminated
                    else None, "created_at": created, "updated_at": created})
                rows = [(Direction.outgoing, MobilityType.study)] * rng.randint(1, 3)
                rows += [(Direction.incoming, MobilityType.study)] * rng.randint(1, 2)
                if rng.random() < .1:
                    rows.append((Direction.outgoing, MobilityType.traineeship))
                for direction, mobility in rows:
                    condition_id = self.w.new_id(K)
                    isced = rng.choice(fields)
                    eqf = rng.choice(["6,7", "6,7", "6", "7"])
                    places = rng.randint(1, 6)
                    self.w.add(K, {"id": condition_id, "agreement_id": agreement_id, "direction": direction,
                                   "mobility_type": mobility, "isced_code": isced, "eqf_levels": eqf,
                                   "places_per_year": places, "months_per_place": rng.choice([5, 5, 10])})
                    languages = []
                    if rng.random() < .6:
                        languages.append(("en", rng.choice(["B1", "B2", "B2"])))
                    if language != "en" and rng.random() < .5:
                        languages.append((language, rng.choice(["A2", "B1", "B2"])))
                    self.conditions.append((condition_id, institution_id, direction, mobility, isced,
                                            [int(v) for v in eqf.split(",")], places, languages, first, last,
                                            status is AgreementStatus.active))
        self.w.flush(A)
        self.w.flush(K)
        for condition_id, *_rest, languages, _first, _last, _active in self.conditions:
            for lang, level in languages:
                self.w.add(L, {"id": self.w.new_id(L), "condition_id": condition_id, "language": lang,
                               "cefr_level": level})
        self.w.flush(L)
        self.progress(f"{self.w.counts['agreements']:,} agreements, {len(self.conditions):,} cooperation conditions")

    # --- accounts ---------------------------------------------------------------------------------

    def _user(self, email: str, name: str, role: Role, institution_id: int | None = None, created=None) -> int:
        T = User.__table__
        user_id = self.w.new_id(T)
        created = created or self.at(30, 900)
        self.w.add(T, {
            "id": user_id, "email": email, "name": name, "password_hash": self.password_hash, "role": role,
            "institution_id": institution_id, "is_active": self.rng.random() > .002 or role is not Role.student,
            "locale": self.rng.choice([None, None, "en", "es", "fr"]), "timezone": None,
            "session_token": self.token(), "created_at": created,
            "last_login_at": created + timedelta(days=self.rng.uniform(0, 20)) if self.rng.random() < .7 else None,
            "password_changed_at": created})
        return user_id

    def users(self) -> None:
        self.admins = [self._user(f"admin{n:02d}@{EMAIL_DOMAIN}", self.person_name("en_GB"), Role.admin)
                       for n in range(1, 3)]
        self.coordinators = [self._user(f"coordinator{n:02d}@{EMAIL_DOMAIN}", self.person_name("es_ES"),
                                        Role.coordinator) for n in range(1, 11)]
        self.partner_users = {}
        for n, (institution_id, locale, *_rest) in enumerate(self.institutions, start=1):
            self.partner_users[institution_id] = self._user(f"partner{n:04d}@{EMAIL_DOMAIN}", self.person_name(locale),
                                                            Role.partner, institution_id)
        self.students = []  # (user id, name, locale)
        for n in range(1, self.sizes.students + 1):
            locale = "es_ES" if self.rng.random() < .7 else self.rng.choice(list(LOCALES))
            name = self.person_name(locale)
            self.students.append((self._user(f"student{n:05d}@{EMAIL_DOMAIN}", name, Role.student), name, locale))
        self.w.flush(User.__table__)
        self.summary.logins = {"admin": f"admin01@{EMAIL_DOMAIN}", "coordinator": f"coordinator01@{EMAIL_DOMAIN}",
                               "student": f"student00001@{EMAIL_DOMAIN}"}
        self.progress(f"{self.w.counts['users']:,} accounts (one password hash for all)")

    # --- calls and applications -------------------------------------------------------------------

    def call(self, title: str, year: int, period: CallPeriod, opens_at, closes_at, max_choices: int,
             conditions, seat_factor: float) -> dict:
        T, Q, P = Call.__table__, ScoringCriterion.__table__, CallPlace.__table__
        call_id = self.w.new_id(T)
        self.w.add(T, {
            "id": call_id, "title": title, "academic_year": year, "period": period, "mobility_type": MobilityType.study,
            "description": "Apply for a stay at one of our partner universities. Rank your destinations; places "
                           "are allocated by score after the review.",
            "opens_at": opens_at, "closes_at": closes_at, "max_choices": max_choices, "min_gpa": Decimal("5.00"),
            "eqf_levels": "6,7", "required_documents": ",".join(k.value for k in DOCUMENTS),
            "created_by_id": self.coordinators[0], "created_at": opens_at - timedelta(days=20),
            "updated_at": opens_at - timedelta(days=20)})
        self.w.flush(T)
        criteria = []
        for position, (name, weight, uses_gpa) in enumerate([("GPA", 50, True), ("Language", 20, False),
                                                             ("Motivation", 30, False)]):
            criterion_id = self.w.new_id(Q)
            self.w.add(Q, {"id": criterion_id, "call_id": call_id, "position": position, "name": name,
                           "weight": weight, "uses_gpa": uses_gpa})
            criteria.append((criterion_id, weight, uses_gpa))
        self.w.flush(Q)
        places, seats_of = [], {}
        for condition in conditions:
            place_id = self.w.new_id(P)
            seats = max(1, min(999, round(condition[6] * seat_factor)))
            self.w.add(P, {"id": place_id, "call_id": call_id, "condition_id": condition[0], "seats": seats})
            places.append((place_id, condition))
            seats_of[place_id] = seats
        self.w.flush(P)
        by_field = defaultdict(list)
        for place in places:
            by_field[place[1][4][:3]].append(place)
        return {"id": call_id, "year": year, "opens_at": opens_at, "closes_at": closes_at, "max_choices": max_choices,
                "criteria": criteria, "places": places, "seats": seats_of, "by_field": by_field}

    def applications(self, call: dict, students, mix, record: list | None = None) -> list[tuple]:
        """Applications of `students` to `call` in statuses drawn from `mix`; returns (id, institution) of the
        nominated ones. With `record`, appends what the placement step needs of each application."""
        rng, w = self.rng, self.w
        T = Application.__table__
        fields = isced_fields()
        placed = []
        span = (call["closes_at"] - call["opens_at"]).total_seconds()
        for user_id, name, locale in students:
            status = _weighted(rng, mix)
            application_id = w.new_id(T)
            isced = rng.choice(self.isced)
            eqf = 6 if rng.random() < .75 else 7
            scale = rng.choice([GpaScale.scale_10] * 6 + [GpaScale.scale_4, GpaScale.scale_20, GpaScale.scale_100])
            raw = min(9.99, max(4.0, rng.gauss(7.2, 1.1)))
            factor = {GpaScale.scale_10: 1, GpaScale.scale_4: .4, GpaScale.scale_20: 2, GpaScale.scale_100: 10}[scale]
            gpa = _d(raw * factor)
            normalised = _d(float(gpa) / factor)
            created = call["opens_at"] + timedelta(seconds=rng.uniform(0, span * .6))
            submitted = created + timedelta(seconds=rng.uniform(3600, max(7200, span * .35)))
            if submitted > call["closes_at"]:
                submitted = call["closes_at"] - timedelta(minutes=rng.randint(5, 600))
            submitted = min(submitted, self.now - timedelta(minutes=5))
            choices = self._choices(call, isced)
            languages = self._languages(choices, locale)
            scores = self._reviews_for(status)
            placed_place = placed_institution = nominated_at = None
            if status in (S.accepted, S.declined):
                placed_place, condition = choices[0]
                placed_institution = condition[1]
                if status is S.accepted:
                    nominated_at = submitted + timedelta(days=rng.uniform(40, 60))
                    placed.append((application_id, placed_institution))
            history = self._history(status, submitted, user_id)
            last_change = history[-1][3] if history else created
            if record is not None and status in (S.accepted, S.declined, S.not_placed):
                record.append({"id": application_id, "student": user_id, "status": status, "submitted": submitted,
                               "choices": [(place_id, rank) for rank, (place_id, _c) in enumerate(choices, 1)],
                               "place": placed_place, "institution": placed_institution,
                               "nominated_at": nominated_at, "decided_at": last_change})
            w.add(T, {
                "id": application_id, "call_id": call["id"], "student_id": user_id, "status": status, "version_id": 1,
                "full_name": name,
                "date_of_birth": date(self.now.year - rng.randint(19, 27), rng.randint(1, 12), rng.randint(1, 28)),
                "nationality": LOCALES[locale][0] if rng.random() < .9 else rng.choice(["MA", "CO", "MX", "UA", "CN"]),
                "student_number": f"S{self.year % 100:02d}{user_id:07d}",
                "study_programme": f"{PROGRAMME_PREFIX[eqf]} {fields[isced]}"[:200],
                "isced_code": isced, "eqf_level": eqf, "year_of_study": rng.randint(1, 4) if eqf == 6 else rng.randint(1, 2),
                "gpa": gpa, "gpa_scale": scale, "gpa_normalised": normalised,
                "motivation": rng.choice(MOTIVATIONS).format(field=fields[isced].lower()),
                "support_needs": "I need an accessible room." if rng.random() < .02 else None,
                "score": None, "placed_place_id": placed_place, "placed_institution_id": placed_institution,
                "nominated_at": nominated_at, "created_at": created, "updated_at": last_change,
                "submitted_at": submitted if status is not S.draft else None, "status_changed_at": last_change})
            self._children(application_id, user_id, call, status, choices, languages, scores, normalised,
                           history, created)
        w.flush(T)
        for table in (ApplicationChoice, LanguageSkill, ApplicationDocument, StatusChange, ApplicationComment,
                      Review, ReviewScore):
            w.flush(table.__table__)
        return placed

    def _choices(self, call: dict, isced: str) -> list:
        rng = self.rng
        wanted = rng.choices([1, 2, 3, 4, 5], weights=[5, 10, 25, 25, 35])[0]
        wanted = min(wanted, call["max_choices"], len(call["places"]))
        same_field = call["by_field"].get(isced[:3], [])
        chosen, seen = [], set()
        while len(chosen) < wanted:
            pool = same_field if same_field and rng.random() < .75 else call["places"]
            place = rng.choice(pool)
            if place[0] not in seen:
                seen.add(place[0])
                chosen.append(place)
        return chosen

    def _languages(self, choices, locale: str) -> list[tuple[str, str]]:
        rng = self.rng
        result = {"en": rng.choice(["B1", "B2", "B2", "C1", "C1", "C2"])}
        home_language = LOCALES[locale][1]
        result[home_language] = "C2"
        for lang, level in choices[0][1][7] if choices else []:
            if lang not in result:
                meets = rng.random() < .8
                result[lang] = level if meets else CEFR[max(0, CEFR.index(level) - 1)]
        if rng.random() < .2:
            extra = rng.choice(["fr", "de", "it", "pt"])
            result.setdefault(extra, rng.choice(CEFR))
        return list(result.items())

    def _reviews_for(self, status) -> int:
        if status in (S.eligible, S.ineligible, S.accepted, S.declined, S.not_placed):
            return 2 if self.rng.random() < .3 else 1
        if status is S.under_review:
            return 1 if self.rng.random() < .4 else 0
        return 0

    def _history(self, status, submitted, student_id) -> list[tuple]:
        rng = self.rng
        at = submitted
        rows = []
        for from_status, to_status, actor in PATHS[status]:
            by = student_id if to_status in STUDENT_STEPS else rng.choice(self.coordinators)
            rows.append((from_status, to_status, actor, at, by))
            at = min(at + timedelta(hours=rng.uniform(2, 24 * 12)), self.now - timedelta(minutes=1))
        return rows

    def _children(self, application_id, user_id, call, status, choices, languages, reviews, normalised, history,
                  created) -> None:
        rng, w = self.rng, self.w
        Ch, La, Do = ApplicationChoice.__table__, LanguageSkill.__table__, ApplicationDocument.__table__
        St, Co = StatusChange.__table__, ApplicationComment.__table__
        for rank, (place_id, _condition) in enumerate(choices, start=1):
            w.add(Ch, {"id": w.new_id(Ch), "application_id": application_id, "place_id": place_id, "rank": rank})
        for lang, level in languages:
            w.add(La, {"id": w.new_id(La), "application_id": application_id, "language": lang, "cefr_level": level,
                       "certificate": f"{lang.upper()} {level} certificate" if lang != "es" and rng.random() < .5
                       else None})
        kinds = DOCUMENTS if status is not S.draft else DOCUMENTS[:rng.randint(0, 1)]
        for kind in kinds:
            stored = f"{rng.getrandbits(128):032x}.pdf"
            self.documents.append(stored)
            w.add(Do, {"id": w.new_id(Do), "application_id": application_id, "kind": kind, "stored_name": stored,
                       "original_name": f"{kind.value.replace('_', '-')}.pdf", "mimetype": "application/pdf",
                       "size": len(DEMO_PDF), "uploaded_at": created + timedelta(minutes=rng.randint(5, 600)),
                       "uploaded_by_id": user_id})
        w.add(St, {"id": w.new_id(St), "application_id": application_id, "from_status": None,
                   "to_status": S.draft, "actor": Actor.student, "by_id": user_id, "at": created, "comment": None})
        for from_status, to_status, actor, at, by in history:
            comment = None
            if to_status is S.changes_requested:
                comment = "Please upload the complete transcript of records and submit again."
            elif to_status is S.ineligible:
                comment = "Your language level is below what your destinations require."
            w.add(St, {"id": w.new_id(St), "application_id": application_id, "from_status": from_status,
                       "to_status": to_status, "actor": actor, "by_id": by, "at": at, "comment": comment})
        if status is not S.draft and rng.random() < .08:
            internal = rng.random() < .5
            w.add(Co, {"id": w.new_id(Co), "application_id": application_id, "author_id": rng.choice(self.coordinators),
                       "body": "Checked the transcript: the grades are consistent." if internal
                       else "Thank you for your application. We will contact you after the review.",
                       "is_internal": internal, "created_at": history[0][3] + timedelta(hours=rng.uniform(1, 48))})
        if reviews:
            totals = []
            low = status is S.ineligible
            for reviewer in rng.sample(self.coordinators, reviews):
                review_id = w.new_id(Review.__table__)
                values = []
                for criterion_id, weight, uses_gpa in call["criteria"]:
                    value = normalised if uses_gpa else _d(rng.uniform(2.5, 6) if low else rng.uniform(5, 10))
                    value = min(Decimal(10), max(Decimal(0), value))
                    values.append((criterion_id, weight, value))
                total = _d(sum(float(v) * wt for _c, wt, v in values) / sum(wt for _c, wt, _v in values) * 10)
                totals.append(total)
                scored_at = history[1][3] + timedelta(hours=rng.uniform(1, 72)) if len(history) > 1 else self.now
                w.add(Review.__table__, {"id": review_id, "application_id": application_id, "reviewer_id": reviewer,
                                         "assigned_by_id": self.coordinators[0], "assigned_at": scored_at - timedelta(hours=2),
                                         "total": total, "scored_at": min(scored_at, self.now)})
                for criterion_id, _weight, value in values:
                    w.add(ReviewScore.__table__, {"id": w.new_id(ReviewScore.__table__), "review_id": review_id,
                                                  "criterion_id": criterion_id, "score": value})
            self.scores.append((application_id, _d(sum(float(t) for t in totals) / len(totals))))

    def write_scores(self) -> None:
        """Application.score = the mean of the reviewers' totals (an UPDATE per batch)."""
        T = Application.__table__
        from sqlalchemy import bindparam, update
        statement = update(T).where(T.c.id == bindparam("b_id")).values(score=bindparam("b_score"))
        for start in range(0, len(self.scores), self.w.batch_size):
            chunk = self.scores[start:start + self.w.batch_size]
            self.w.connection.execute(statement, [{"b_id": i, "b_score": s} for i, s in chunk])

    def calls(self) -> None:
        rng = self.rng
        next_year = self.year + 1

        def outgoing(year, share=1.0):
            return [c for c in self.conditions if c[2] is Direction.outgoing and c[3] is MobilityType.study
                    and c[10] and c[8] <= year <= c[9] and rng.random() < share]

        self.documents, self.scores = [], []
        large_conditions = outgoing(next_year)
        if not large_conditions:
            raise ScaleError("No active outgoing agreement covers next year: use more partners.")
        total_places = sum(c[6] for c in large_conditions)
        label = f"{next_year}/{(next_year + 1) % 100:02d}"
        # Seats for about 40% of the applicants (a competitive call).
        large = self.call(f"Semester exchange {label} — outgoing {LARGE_CALL_MARK}", next_year, CallPeriod.autumn,
                          self.now - timedelta(days=75), self.now - timedelta(days=12), 5, large_conditions,
                          max(1.0, .4 * len(self.students) / total_places))
        self.applications(large, self.students, LARGE_CALL_MIX)
        self.summary.call_id = large["id"]
        self.progress(f"large call {large['id']}: {len(self.students):,} applications, "
                      f"{len(large['places']):,} places")

        open_call = self.call(f"Spring exchange {label} — outgoing (scale, open)", next_year, CallPeriod.spring,
                              self.now - timedelta(days=10), self.now + timedelta(days=25), 3,
                              outgoing(next_year, .5) or large_conditions, 1.0)
        self.applications(open_call, rng.sample(self.students, max(1, len(self.students) // 10)), OPEN_CALL_MIX)

        past_conditions = outgoing(self.year) or large_conditions
        past_label = f"{self.year}/{(self.year + 1) % 100:02d}"
        past = self.call(f"Semester exchange {past_label} — outgoing (scale, finished)", self.year, CallPeriod.autumn,
                         self.now - timedelta(days=440), self.now - timedelta(days=380), 3, past_conditions, 1.0)
        past_students = rng.sample(self.students, max(1, len(self.students) // 16))
        self.matched = []
        self.nominated = self.applications(past, past_students, PAST_CALL_MIX, record=self.matched)
        self.past_call = past
        self.past_student_ids = {user_id for user_id, _name, _locale in past_students}
        self.write_scores()
        self.progress(f"open call {open_call['id']} and last year's call {past['id']}")
        # The partner login: the institution with the most nominated students.
        if self.nominated:
            counts = defaultdict(int)
            for _application_id, institution_id in self.nominated:
                counts[institution_id] += 1
            best = max(sorted(counts), key=lambda i: counts[i])
        else:
            best = self.institutions[0][0]
        index = [i for i, *_rest in self.institutions].index(best) + 1
        self.summary.logins["partner"] = f"partner{index:04d}@{EMAIL_DOMAIN}"

    # --- placement of last year's call: the published run, offers, nominations, factsheets ----------

    def placements(self) -> None:
        from ..partners.models import PartnerFactsheet
        from ..placements.models import (MatchingRun, Nomination, NominationStatus, Offer, OfferStatus, RunPlace,
                                         RunPlacement, RunStatus, UnplacedReason)
        rng, w, call = self.rng, self.w, self.past_call
        if not self.matched:
            return
        scores = dict(self.scores)
        run_id = w.new_id(MatchingRun.__table__)
        published = call["closes_at"] + timedelta(days=30)
        deadline = published + timedelta(days=14)
        filled = defaultdict(int)
        by_choice = defaultdict(int)
        for row in self.matched:
            if row["place"]:
                filled[row["place"]] += 1
                by_choice[1] += 1
        seats = call["seats"]
        w.add(MatchingRun.__table__, {
            "id": run_id, "call_id": call["id"], "round": 1, "status": RunStatus.published,
            "created_by_id": self.coordinators[0], "created_at": published - timedelta(days=2),
            "published_by_id": self.coordinators[0], "published_at": published, "offer_deadline": deadline,
            "applications_count": len(self.matched), "unscored_count": 0, "places_count": len(seats),
            "seats_count": sum(seats.values()),
            "eligible_pairs_count": sum(len(r["choices"]) for r in self.matched), "ineligible_pairs_count": 0,
            "placed_count": sum(filled.values()), "adjustments_count": 0,
            "stats": {"by_choice": {str(k): v for k, v in by_choice.items()}, "outside_choices": 0},
            "duration_ms": 40})
        w.flush()
        for place_id, capacity in seats.items():
            w.add(RunPlace.__table__, {"id": w.new_id(RunPlace.__table__), "run_id": run_id, "place_id": place_id,
                                       "capacity": capacity, "filled": filled.get(place_id, 0),
                                       "cutoff_application_id": None, "cutoff_score": None})
        partner_of = {institution_id: user_id for institution_id, user_id in self.partner_users.items()}
        for row in self.matched:
            placed = row["place"]
            w.add(RunPlacement.__table__, {
                "id": w.new_id(RunPlacement.__table__), "run_id": run_id, "application_id": row["id"],
                "place_id": placed, "choice_rank": 1 if placed else None, "score": scores.get(row["id"]),
                "submitted_at": row["submitted"],
                "choices": [{"place": p, "rank": r, "eligible": True, "reasons": []} for p, r in row["choices"]],
                "reason": None if placed else UnplacedReason.full, "adjusted": False})
            if not placed:
                continue
            accepted = row["status"] is S.accepted
            shared = "transcript,cv" if accepted else ""
            w.add(Offer.__table__, {
                "id": w.new_id(Offer.__table__), "application_id": row["id"], "run_id": run_id, "place_id": placed,
                "round": 1, "deadline": deadline, "status": OfferStatus.accepted if accepted else OfferStatus.declined,
                "created_at": published, "responded_at": published + timedelta(days=rng.uniform(1, 12)),
                "shared_documents": shared})
            if accepted:
                decided = rng.random() < .6
                arrival = date(call["year"], 9, rng.randint(1, 10))
                w.add(Nomination.__table__, {
                    "id": w.new_id(Nomination.__table__), "application_id": row["id"],
                    "institution_id": row["institution"], "place_id": placed, "academic_year": call["year"],
                    "status": NominationStatus.accepted if decided else NominationStatus.nominated,
                    "planned_arrival": arrival, "planned_departure": arrival + timedelta(days=rng.choice([120, 150])),
                    "shared_documents": shared, "nominated_by_id": self.coordinators[0],
                    "nominated_at": row["nominated_at"],
                    "decided_by_id": partner_of.get(row["institution"]) if decided else None,
                    "decided_at": row["nominated_at"] + timedelta(days=rng.uniform(2, 20)) if decided else None,
                    "reason": None})
        for institution_id, *_rest in self.institutions:
            if rng.random() < .3:
                w.add(PartnerFactsheet.__table__, {
                    "id": w.new_id(PartnerFactsheet.__table__), "institution_id": institution_id,
                    "nomination_deadline_autumn": date(self.year, 5, 15), "nomination_deadline_spring": date(self.year, 10, 15),
                    "application_deadline_autumn": date(self.year, 6, 15), "application_deadline_spring": date(self.year, 11, 15),
                    "language_requirements": "B2 in the language of instruction.", "other_requirements": None,
                    "contact_email": f"incoming.{institution_id}@partner.example", "housing_info": "Student residences.",
                    "housing_email": None, "housing_url": None, "visa_info": None, "visa_email": None,
                    "insurance_info": None, "insurance_email": None, "course_catalogue_url": None,
                    "updated_by_id": partner_of.get(institution_id), "updated_at": self.now - timedelta(days=30)})
        w.flush()
        self.progress(f"last year's run: {w.counts['placement_offers']:,} offers, {w.counts['nominations']:,} nominations")

    def certificates(self) -> None:
        """Participation certificates for people who came to past events (one in two) and placement letters
        for last year's accepted students, issued through the certificates service (a few thousand rows)."""
        from ..certificates.kinds import CertificateKind
        from ..certificates.services import eligible_subject_ids, issue_many
        from ..events.models import Registration, attended_clause
        by = db.session.get(User, self.coordinators[0])
        attended_ids = db.session.scalars(select(Registration.id).where(attended_clause())
                                          .order_by(Registration.id)).all()
        chosen = [registration_id for registration_id in attended_ids if self.rng.random() < .5]
        issued = issue_many(CertificateKind.participation, chosen, by)
        letters = issue_many(CertificateKind.placement,
                             eligible_subject_ids(CertificateKind.placement, self.past_call["id"]), by)
        self.w.counts["certificates"] += len(issued) + len(letters)
        self.progress(f"{len(issued):,} certificates of participation, {len(letters):,} placement letters")

    def files(self) -> None:
        if not self.write_files or not self.documents:
            return
        from ..core import uploads
        folder = uploads.upload_folder()
        os.makedirs(folder, exist_ok=True)
        for stored in self.documents:
            with open(os.path.join(folder, stored), "wb") as fh:
                fh.write(DEMO_PDF)
        self.progress(f"{len(self.documents):,} document files in {folder}")

    # --- events -----------------------------------------------------------------------------------

    def events(self) -> None:
        if not self.sizes.events:
            return
        rng, w = self.rng, self.w
        E, Q = Event.__table__, EventQuestion.__table__
        R, An = Registration.__table__, RegistrationAnswer.__table__
        student_ids = [s[0] for s in self.students]
        partner_ids = list(self.partner_users.values())
        call_audience = sorted(getattr(self, "past_student_ids", ()))
        first_student = student_ids[0]
        for n in range(self.sizes.events):
            event_id = w.new_id(E)
            category = rng.choice(list(EventCategory))
            starts = (self.now + timedelta(days=rng.uniform(-180, 180))).replace(minute=0) \
                .replace(hour=rng.choice([8, 9, 10, 15, 16, 17, 18]))
            hours = rng.choice([1, 2, 2, 3, 4]) if category is not EventCategory.excursion else rng.choice([8, 10, 30])
            ends = starts + timedelta(hours=hours)
            audience = _weighted(rng, [(Audience.everyone, 60), (Audience.students, 25), (Audience.partners, 10),
                                       (Audience.call, 5)])
            if audience is Audience.call and not call_audience:
                audience = Audience.students
            status = _weighted(rng, [(EventStatus.published, 85), (EventStatus.draft, 10), (EventStatus.cancelled, 5)])
            capacity = None if rng.random() < .3 else rng.choice([15, 20, 30, 40, 60, 80, 120, 200])
            created = starts - timedelta(days=rng.uniform(10, 60))
            partner = rng.choice(self.institutions) if category is EventCategory.national_day else None
            w.add(E, {
                "id": event_id, "title": f"{rng.choice(EVENT_TITLES[category])} #{n + 1}",
                "description": "Join us! **Free** for exchange students.\n\n- Meet other students\n- Practise languages",
                "category": category, "starts_at": starts, "ends_at": ends,
                "venue": rng.choice(VENUES), "online_url": None if rng.random() < .85 else "https://meet.example.test/x",
                "capacity": capacity, "registration_opens_at": created + timedelta(days=1),
                "registration_closes_at": None, "audience": audience,
                "call_id": self.past_call["id"] if audience is Audience.call else None,
                "cover_image": None, "cover_mimetype": None,
                "partner_institution_id": partner[0] if partner else None, "country": partner[2] if partner else None,
                "status": status,
                "cancelled_at": created + timedelta(days=5) if status is EventStatus.cancelled else None,
                "cancellation_reason": "The venue is not available." if status is EventStatus.cancelled else None,
                "sequence": 0, "created_by_id": rng.choice(self.coordinators), "created_at": created,
                "updated_at": created})
            questions = []
            if rng.random() < .3:
                question_id = w.new_id(Q)
                w.add(Q, {"id": question_id, "event_id": event_id, "label": "Dietary requirements",
                          "kind": QuestionKind.text, "options": None, "is_required": False, "position": 0})
                questions.append((question_id, None))
                if rng.random() < .5:
                    question_id = w.new_id(Q)
                    w.add(Q, {"id": question_id, "event_id": event_id, "label": "T-shirt size",
                              "kind": QuestionKind.choice, "options": "S\nM\nL\nXL", "is_required": True,
                              "position": 1})
                    questions.append((question_id, ["S", "M", "L", "XL"]))
            if status is EventStatus.draft:
                continue
            pool = {Audience.partners: partner_ids, Audience.call: call_audience}.get(audience, student_ids)
            wanted = min(len(pool), int(rng.uniform(.4, 1.3) * (capacity or rng.randint(10, 150))))
            people = rng.sample(pool, wanted)
            if audience in (Audience.everyone, Audience.students) and n % 8 == 0 and first_student not in people:
                people.append(first_student)
            confirmed = 0
            past = ends < self.now
            for user_id in people:
                queued = created + timedelta(days=rng.uniform(1, 9))
                reg_status = RegistrationStatus.confirmed
                if capacity is not None and confirmed >= capacity:
                    reg_status = RegistrationStatus.waitlisted
                if rng.random() < .05:
                    reg_status = RegistrationStatus.cancelled
                if reg_status is RegistrationStatus.confirmed:
                    confirmed += 1
                checked = reg_status is RegistrationStatus.confirmed and past and status is EventStatus.published \
                    and rng.random() < .7
                registration_id = w.new_id(R)
                w.add(R, {"id": registration_id, "event_id": event_id, "user_id": user_id, "status": reg_status,
                          "queued_at": queued,
                          "confirmed_at": queued if reg_status is RegistrationStatus.confirmed else None,
                          "cancelled_at": queued + timedelta(days=1) if reg_status is RegistrationStatus.cancelled
                          else None,
                          "checkin_code": self.checkin_code(), "checked_in_at": starts + timedelta(minutes=10)
                          if checked else None, "checked_in_by_id": self.coordinators[0] if checked else None,
                          "created_at": queued})
                for question_id, options in questions:
                    if options or rng.random() < .4:
                        w.add(An, {"id": w.new_id(An), "registration_id": registration_id, "question_id": question_id,
                                   "value": rng.choice(options) if options else rng.choice(["Vegetarian", "None",
                                                                                             "Gluten free"])})
            w.flush(E)
            w.flush(Q)
        for table in (E, Q, R, An):
            w.flush(table)
        self.progress(f"{w.counts['events']:,} events, {w.counts['event_registrations']:,} registrations")

    def checkin_code(self) -> str:
        while True:
            code = "".join(self.rng.choice(CHECKIN_ALPHABET) for _ in range(10))
            if code not in self.checkin_codes:
                self.checkin_codes.add(code)
                return code

    def run(self) -> Summary:
        self.home()
        self.partners()
        self.agreements()
        self.users()
        self.calls()
        self.placements()
        self.events()
        self.w.flush()
        self.w.fix_sequences()
        self.certificates()
        self.summary.rows = {name: count for name, count in self.w.counts.items() if count}
        return self.summary


def already_seeded() -> bool:
    return db.session.scalar(select(User.id).where(User.email.like(f"%@{EMAIL_DOMAIN}")).limit(1)) is not None


def seed_scale(sizes: SeedSizes = SeedSizes(), seed: int = 20260901, batch_size: int = 5000,
               write_files: bool = True, progress: Callable[[str], None] = lambda message: None) -> Summary:
    """Generate the data set in one transaction (nothing is left half-written if it fails)."""
    if already_seeded():
        raise ScaleError("The scale data set is already in this database (accounts @scale.test exist). "
                         "Use an empty database, e.g. one made for the benchmark.")
    connection = db.session.connection()
    writer = Writer(connection, batch_size)
    try:
        seeder = ScaleSeeder(sizes, seed, writer, write_files, progress)
        summary = seeder.run()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    seeder.files()  # after the commit: no files for rows that were rolled back
    # Every table: the triggers' counters (application_status_counts, calls.places_version) were written too.
    vacuum([table.name for table in db.metadata.sorted_tables])
    progress("statistics updated (VACUUM ANALYZE)" if db.engine.dialect.name == "postgresql" else "ANALYZE done")
    return summary


def vacuum(tables: list[str]) -> None:
    """Fresh planner statistics and visibility map, as autovacuum would leave a database in service
    (without it, PostgreSQL plans the first minutes on empty-table estimates and index-only scans visit
    the heap)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in tables:
                conn.execute(text(f'VACUUM ANALYZE "{table}"'))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


DEMO_PDF = minimal_pdf("Scale data set: a generated document")
