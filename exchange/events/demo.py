"""Demo data: a term of cultural events around today's date (past, ongoing, upcoming, one full with a waitlist).

Idempotent: an event whose title exists is left alone, so `flask seed-demo` can run any number of times.
Dates are relative to the day the demo is seeded, so the programme looks alive.

Adds to the seeding context:
  context["events"]: dict key → Event (keys: see DEMO_EVENTS, e.g. "welcome_tour", "potluck"; and
                     "briefing", for the exchange students of context["closed_call"], when that call exists)
  context["attended_events"]: the past Events the demo student checked in at (for certificates)
"""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from ..auth.demo import demo_user
from ..auth.models import Role
from ..extensions import db
from .models import (Audience, Event, EventCategory, EventQuestion, EventStatus, QuestionKind, Registration,
                     RegistrationAnswer, RegistrationStatus)

EXTRA_STUDENTS = [
    ("amelie.durand@demo.test", "Amélie Durand"), ("jonas.weber@demo.test", "Jonas Weber"),
    ("giulia.rossi@demo.test", "Giulia Rossi"), ("mateo.fernandez@demo.test", "Mateo Fernández"),
    ("emma.jansen@demo.test", "Emma Jansen"), ("oskar.nowak@demo.test", "Oskar Nowak"),
    ("lucia.moreno@demo.test", "Lucía Moreno"), ("yuki.tanaka@demo.test", "Yuki Tanaka"),
    ("ines.silva@demo.test", "Inês Silva"), ("liam.obrien@demo.test", "Liam O'Brien"),
    ("sara.lindqvist@demo.test", "Sara Lindqvist"), ("karim.haddad@demo.test", "Karim Haddad"),
    ("ana.popescu@demo.test", "Ana Popescu"), ("pablo.garcia@demo.test", "Pablo García"),
    ("chloe.martin@demo.test", "Chloé Martin"), ("nikos.papadopoulos@demo.test", "Nikos Papadopoulos"),
]

# key, title, category, days from today, start hour, duration hours, capacity, audience, status, description
DEMO_EVENTS = [
    ("welcome_tour", "Welcome week: campus tour and tapas", EventCategory.welcome, -40, 10, 3, 60,
     Audience.everyone, EventStatus.published,
     "Start your semester with a **guided tour** of the campus, the library and the sports centre, "
     "followed by tapas on the main square.\n\n- Meet at the main entrance of the Rectorate\n- Comfortable shoes"),
    ("tandem_kickoff", "Language tandem kick-off", EventCategory.language_tandem, -25, 18, 2, None,
     Audience.everyone, EventStatus.published,
     "Find a tandem partner: you teach your language, they teach theirs. Speed-meeting in pairs, "
     "then drinks. All levels welcome."),
    ("toledo", "Excursion to Toledo", EventCategory.excursion, -14, 8, 12, 45, Audience.students,
     EventStatus.published,
     "A day in the *city of three cultures*: cathedral, synagogue of Santa María la Blanca and the old town. "
     "Coach leaves at 8:00 sharp from the sports centre car park."),
    ("festa_repubblica", "Italian evening with Università di Bologna", EventCategory.national_day, -7, 19, 3, 80,
     Audience.everyone, EventStatus.published,
     "Our partner university in Bologna presents its exchange programme; Italian students cook, "
     "and there is music until late."),
    ("photo_exhibition", "Exhibition: Erasmus through our eyes", EventCategory.cultural_evening, -2, 10, 5 * 24 + 8,
     None, Audience.everyone, EventStatus.published,
     "Photographs by this year's exchange students, in the Faculty of Arts hall. Open every day 10:00–18:00."),
    ("tandem_weekly", "Language tandem: Spanish – English", EventCategory.language_tandem, 1, 18, 2, 30,
     Audience.everyone, EventStatus.published,
     "Our weekly tandem at the student café. Half an hour in Spanish, half an hour in English."),
    ("potluck", "Flavours of the world: international potluck", EventCategory.cultural_evening, 3, 19, 3, 12,
     Audience.everyone, EventStatus.published,
     "Bring a dish from home and the story behind it. Plates, drinks and music are on us.\n\n"
     "**Places are limited** to the size of the kitchen: when it is full, join the waitlist."),
    ("volleyball", "Beach volleyball tournament", EventCategory.other, 4, 16, 3, 32, Audience.students,
     EventStatus.cancelled, "Teams of four, mixed nationalities."),
    ("flamenco", "Flamenco workshop for beginners", EventCategory.workshop, 6, 18, 2, 20, Audience.everyone,
     EventStatus.published, "Learn the basics of *sevillanas* with a professional dancer. No experience needed."),
    ("learning_agreement", "Online workshop: your learning agreement", EventCategory.workshop, 9, 12, 1, None,
     Audience.students, EventStatus.published,
     "How to choose courses, fill in the learning agreement and change it later. Questions welcome."),
    ("segovia", "Excursion to Segovia", EventCategory.excursion, 12, 8, 11, 50, Audience.everyone,
     EventStatus.published,
     "The Roman aqueduct, the Alcázar and roast lunch. The price includes coach, guide and lunch."),
    ("partner_breakfast", "Partner networking breakfast", EventCategory.welcome, 15, 9, 2, 25, Audience.partners,
     EventStatus.published, "For colleagues from our partner universities visiting during staff week."),
    ("day_of_the_dead", "Day of the Dead altar", EventCategory.national_day, 20, 17, 3, None, Audience.everyone,
     EventStatus.published, "Mexican students build a traditional *ofrenda* and explain its meaning. Pan de muerto for all."),
    ("ski_trip", "Winter ski trip to Sierra Nevada", EventCategory.excursion, 45, 7, 3 * 24, 40, Audience.students,
     EventStatus.draft, "Three days in the mountains. Details to follow."),
    ("farewell", "End-of-term farewell party", EventCategory.cultural_evening, 70, 20, 3, 150, Audience.everyone,
     EventStatus.published, "Celebrate the term with everyone you met. Music, food and a photo booth."),
]


def _at(today: date, days: int, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(today + timedelta(days=days), time(hour, 0), tz).astimezone(timezone.utc)


def _register(event: Event, user, status: RegistrationStatus, queued_at: datetime, checked_in: bool = False,
              by=None, answers: dict | None = None) -> Registration:
    registration = Registration(event_id=event.id, user_id=user.id, status=status, queued_at=queued_at,
                                created_at=queued_at,
                                confirmed_at=queued_at if status is RegistrationStatus.confirmed else None)
    if checked_in:
        registration.checked_in_at = event.starts_at + timedelta(minutes=7)
        registration.checked_in_by_id = getattr(by, "id", None)
    for question_id, value in (answers or {}).items():
        registration.answers.append(RegistrationAnswer(question_id=question_id, value=value))
    db.session.add(registration)
    return registration


def seed(context: dict) -> None:
    users = context["users"]
    student, coordinator, partner = users["student"], users["coordinator"], users["partner"]
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    today = datetime.now(tz).date()
    now = datetime.now(timezone.utc)
    from ..partners.models import PartnerInstitution
    bologna = db.session.scalar(select(PartnerInstitution).where(PartnerInstitution.schac_code == "unibo.it"))
    others = [demo_user(email, name, Role.student) for email, name in EXTRA_STUDENTS]

    existing = {e.title: e for e in db.session.scalars(select(Event).where(
        Event.title.in_([row[1] for row in DEMO_EVENTS])))}
    events: dict[str, Event] = {}
    created: set[str] = set()
    for key, title, category, days, hour, hours, capacity, audience, status, description in DEMO_EVENTS:
        if title in existing:
            events[key] = existing[title]
            continue
        starts_at = _at(today, days, hour, tz)
        event = Event(title=title, description=description, category=category, starts_at=starts_at,
                      ends_at=starts_at + timedelta(hours=hours), capacity=capacity, audience=audience,
                      status=status, created_by_id=coordinator.id, sequence=0,
                      venue=None if key == "learning_agreement" else "Campus de Valdemora",
                      online_url="https://meet.example.org/learning-agreement" if key == "learning_agreement" else None,
                      created_at=min(starts_at - timedelta(days=30), now - timedelta(days=2)))
        if status is EventStatus.cancelled:
            event.cancelled_at = starts_at - timedelta(days=6)
            event.cancellation_reason = "The weather forecast announces storms all afternoon. Sorry!"
        if key == "festa_repubblica":
            event.country = "IT"
            event.partner_institution_id = bologna.id if bologna else None
        if key == "day_of_the_dead":
            event.country = "MX"
        if key == "segovia":
            event.registration_closes_at = starts_at - timedelta(days=3)
        db.session.add(event)
        events[key] = event
        created.add(key)
    briefing_title = "Pre-departure briefing for outgoing students"
    call = context.get("closed_call")
    if call is not None and "briefing" not in events:
        briefing = db.session.scalar(select(Event).where(Event.title == briefing_title))
        if briefing is None:
            starts_at = _at(today, 25, 16, tz)
            briefing = Event(title=briefing_title, category=EventCategory.workshop, starts_at=starts_at,
                             ends_at=starts_at + timedelta(hours=2), capacity=None, audience=Audience.call,
                             call_id=call.id, status=EventStatus.published, created_by_id=coordinator.id,
                             sequence=0, venue="Aula Magna", created_at=now - timedelta(days=2),
                             description="Insurance, housing, the learning agreement and what to do when you "
                                         "arrive. For the students placed in this call.")
            db.session.add(briefing)
        events["briefing"] = briefing
    db.session.flush()

    venues = {"welcome_tour": "Rectorate, main entrance", "tandem_kickoff": "Student café, Building C",
              "toledo": "Sports centre car park", "festa_repubblica": "Aula Magna",
              "photo_exhibition": "Faculty of Arts, exhibition hall", "tandem_weekly": "Student café, Building C",
              "potluck": "International House kitchen", "volleyball": "Sports centre, beach court",
              "flamenco": "Dance studio, Sports centre", "segovia": "Sports centre car park",
              "partner_breakfast": "International Office, meeting room 2", "day_of_the_dead": "Library foyer",
              "ski_trip": "Sports centre car park", "farewell": "Student union hall"}
    for key in created:
        if events[key].venue:
            events[key].venue = venues.get(key, events[key].venue)

    if "segovia" in created:
        segovia = events["segovia"]
        segovia.questions.append(EventQuestion(label="Dietary needs", kind=QuestionKind.text, position=1))
        segovia.questions.append(EventQuestion(label="T-shirt size", kind=QuestionKind.choice,
                                               options="S\nM\nL\nXL", is_required=True, position=2))
    if "potluck" in created:
        events["potluck"].questions.append(EventQuestion(label="What will you bring?", kind=QuestionKind.text,
                                                         is_required=True, position=1))
    db.session.flush()

    def early(event: Event, n: int) -> datetime:
        return event.created_at + timedelta(hours=3 + n)

    confirmed = RegistrationStatus.confirmed
    # Past events: the demo student came to three of them (checked in), missed one.
    if "welcome_tour" in created:
        e = events["welcome_tour"]
        _register(e, student, confirmed, early(e, 0), checked_in=True, by=coordinator)
        for n, other in enumerate(others[:12], start=1):
            _register(e, other, confirmed, early(e, n), checked_in=n % 4 != 0, by=coordinator)
    if "tandem_kickoff" in created:
        e = events["tandem_kickoff"]
        _register(e, student, confirmed, early(e, 0), checked_in=True, by=coordinator)
        for n, other in enumerate(others[4:14], start=1):
            _register(e, other, confirmed, early(e, n), checked_in=n % 3 != 0, by=coordinator)
    if "toledo" in created:
        e = events["toledo"]
        _register(e, student, confirmed, early(e, 0), checked_in=False)  # registered, did not come
        for n, other in enumerate(others[:9], start=1):
            _register(e, other, confirmed, early(e, n), checked_in=True, by=coordinator)
    if "festa_repubblica" in created:
        e = events["festa_repubblica"]
        _register(e, student, confirmed, early(e, 0), checked_in=True, by=coordinator)
        _register(e, partner, confirmed, early(e, 1), checked_in=True, by=coordinator)
        for n, other in enumerate(others[6:], start=2):
            _register(e, other, confirmed, early(e, n), checked_in=n % 5 != 0, by=coordinator)
    # Ongoing: a few visitors checked in already.
    if "photo_exhibition" in created:
        e = events["photo_exhibition"]
        for n, other in enumerate(others[:5]):
            _register(e, other, confirmed, early(e, n), checked_in=n < 3, by=coordinator)
    # Upcoming.
    if "tandem_weekly" in created:
        e = events["tandem_weekly"]
        _register(e, student, confirmed, early(e, 0))
        for n, other in enumerate(others[:8], start=1):
            _register(e, other, confirmed, early(e, n))
    if "potluck" in created:  # full, with a waitlist; the demo student is second on it
        e = events["potluck"]
        question_id = e.questions[0].id
        dishes = ["Tortilla de patatas", "Pierogi", "Tiramisu", "Onigiri", "Pastéis de nata", "Irish soda bread",
                  "Kanelbullar", "Hummus", "Sarmale", "Gazpacho", "Quiche lorraine", "Spanakopita"]
        for n, other in enumerate(others[:12]):
            _register(e, other, confirmed, early(e, n), answers={question_id: dishes[n]})
        _register(e, others[12], RegistrationStatus.waitlisted, early(e, 20), answers={question_id: "Baklava"})
        _register(e, student, RegistrationStatus.waitlisted, early(e, 21), answers={question_id: "Feijoada"})
        _register(e, others[13], RegistrationStatus.waitlisted, early(e, 22), answers={question_id: "Churros"})
    if "volleyball" in created:
        e = events["volleyball"]
        for n, other in enumerate(others[:6]):
            _register(e, other, confirmed, early(e, n))
    if "flamenco" in created:
        e = events["flamenco"]
        _register(e, student, confirmed, early(e, 0))
        for n, other in enumerate(others[2:16], start=1):
            _register(e, other, confirmed, early(e, n))
    if "segovia" in created:
        e = events["segovia"]
        diet, size = e.questions[0].id, e.questions[1].id
        sizes = ["S", "M", "L", "XL"]
        for n, other in enumerate(others[:10]):
            answers = {size: sizes[n % 4]}
            if n % 3 == 0:
                answers[diet] = ["Vegetarian", "No gluten", "Halal", "Vegan"][n % 4]
            _register(e, other, confirmed, early(e, n), answers=answers)
    if "partner_breakfast" in created:
        _register(events["partner_breakfast"], partner, confirmed, early(events["partner_breakfast"], 0))
    db.session.flush()

    context["events"] = events
    context["attended_events"] = list(db.session.scalars(
        select(Event).join(Registration, Registration.event_id == Event.id)
        .where(Registration.user_id == student.id, Registration.checked_in_at.is_not(None),
               Registration.status == RegistrationStatus.confirmed)
        .order_by(Event.starts_at)))
