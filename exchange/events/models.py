"""The cultural programme: events, their registration questions, registrations and check-in.

A registration row exists at most once per (event, user) and carries one status, so nobody can be both
confirmed and waitlisted. Capacity is enforced by services.register under a lock on the event row.
"""
import enum
import secrets

from ..core.errors import WorkflowError
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from ..core.i18n import lazy_pgettext
from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime, enum_column, utcnow
from ..extensions import db


class EventCategory(str, enum.Enum):
    welcome = "welcome"
    language_tandem = "language_tandem"
    cultural_evening = "cultural_evening"
    excursion = "excursion"
    workshop = "workshop"
    national_day = "national_day"
    other = "other"

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self.value])


CATEGORY_LABELS = {
    "welcome": _l("Welcome week"),
    "language_tandem": _l("Language tandem"),
    "cultural_evening": _l("Cultural evening"),
    "excursion": _l("Excursion"),
    "workshop": _l("Workshop"),
    "national_day": _l("National day celebration"),
    "other": _l("Other"),
}


class Audience(str, enum.Enum):
    everyone = "everyone"  # every signed-in user
    students = "students"  # every student account
    call = "call"  # students with an application in one call (Event.call_id)
    partners = "partners"  # partner university users

    @property
    def label(self) -> str:
        return str(AUDIENCE_LABELS[self.value])


AUDIENCE_LABELS = {
    "everyone": _l("Everyone signed in"),
    "students": _l("Students"),
    "call": _l("Exchange students of a call"),
    "partners": _l("Partner university users"),
}


class EventStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.value])


STATUS_LABELS = {"draft": _l("Draft"), "published": lazy_pgettext("event", "Published"),
                 "cancelled": lazy_pgettext("event", "Cancelled")}

#: The event workflow, in one table.
TRANSITIONS = {
    EventStatus.draft: {EventStatus.published, EventStatus.cancelled},
    EventStatus.published: {EventStatus.cancelled},
    EventStatus.cancelled: set(),
}


class RegistrationStatus(str, enum.Enum):
    confirmed = "confirmed"
    waitlisted = "waitlisted"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return str(REGISTRATION_STATUS_LABELS[self.value])


REGISTRATION_STATUS_LABELS = {"confirmed": _l("Confirmed"), "waitlisted": _l("On the waitlist"),
                              "cancelled": _l("Cancelled")}

#: The registration workflow, in one table; None is a registration not saved yet. Only
#: ``services.set_registration_status`` writes the status. A cancelled registration can be made again.
REGISTRATION_TRANSITIONS = {
    None: {RegistrationStatus.confirmed, RegistrationStatus.waitlisted},
    RegistrationStatus.confirmed: {RegistrationStatus.cancelled},
    RegistrationStatus.waitlisted: {RegistrationStatus.confirmed, RegistrationStatus.cancelled},
    RegistrationStatus.cancelled: {RegistrationStatus.confirmed, RegistrationStatus.waitlisted},
}


class QuestionKind(str, enum.Enum):
    text = "text"
    choice = "choice"

    @property
    def label(self) -> str:
        return str({"text": _l("Free text"), "choice": _l("One of a list")}[self.value])


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        Index("ix_events_status_starts_at", "status", "starts_at"),
        Index("ix_events_ends_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown; rendered and sanitised on display
    category: Mapped[EventCategory] = mapped_column(
        enum_column(EventCategory, "event_category", 30), index=True)
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    venue: Mapped[str | None] = mapped_column(String(200))
    online_url: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int | None] = mapped_column(Integer)  # None = unlimited
    registration_opens_at = mapped_column(UTCDateTime)  # None = as soon as published
    registration_closes_at = mapped_column(UTCDateTime)  # None = when the event starts
    audience: Mapped[Audience] = mapped_column(
        enum_column(Audience, "event_audience", 20), default=Audience.everyone,
        index=True)
    # The call whose exchange students are the audience (Audience.call); see services.is_in_call_audience.
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), index=True)
    cover_image: Mapped[str | None] = mapped_column(String(64))  # stored name under UPLOAD_FOLDER
    cover_mimetype: Mapped[str | None] = mapped_column(String(40))
    partner_institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_institutions.id", ondelete="SET NULL"), index=True)
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2 it celebrates
    status: Mapped[EventStatus] = mapped_column(
        enum_column(EventStatus, "event_status", 20), default=EventStatus.draft)
    cancelled_at = mapped_column(UTCDateTime)
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    # Bumped at every change so calendar programs replace their copy (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    partner_institution = relationship("PartnerInstitution")
    call = relationship("Call")
    created_by = relationship("User")
    questions: Mapped[list["EventQuestion"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="(EventQuestion.position, EventQuestion.id)")
    registrations: Mapped[list["Registration"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def closes_at(self):
        """When registration (and cancelling) closes: the deadline, or the start."""
        return self.registration_closes_at or self.starts_at

    def can_transition(self, to: EventStatus) -> bool:
        return to in TRANSITIONS[self.status]

    @property
    def is_draft(self) -> bool:
        return self.status is EventStatus.draft

    @property
    def is_published(self) -> bool:
        return self.status is EventStatus.published

    @property
    def is_cancelled(self) -> bool:
        return self.status is EventStatus.cancelled

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.title!r}>"


class EventQuestion(db.Model):
    """An optional field the organiser asks at registration (dietary needs, T-shirt size…)."""
    __tablename__ = "event_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[QuestionKind] = mapped_column(
        enum_column(QuestionKind, "event_question_kind", 10), default=QuestionKind.text)
    # For choice questions: the options, one per line.
    options: Mapped[str | None] = mapped_column(Text)
    is_required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="questions")

    @property
    def option_list(self) -> list[str]:
        return [line.strip() for line in (self.options or "").splitlines() if line.strip()]


def new_checkin_code() -> str:
    """Ten characters from an alphabet without look-alikes (no 0/O, 1/I/L): easy to read out and type."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class Registration(db.Model):
    __tablename__ = "event_registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_event_registrations_event_user"),
        Index("ix_event_registrations_event_status_queued", "event_id", "status", "queued_at"),
        Index("ix_event_registrations_user_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[RegistrationStatus] = mapped_column(
        enum_column(RegistrationStatus, "event_registration_status", 20))
    # When the person (last) joined: the waitlist is served in this order (then by id).
    queued_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    confirmed_at = mapped_column(UTCDateTime)
    cancelled_at = mapped_column(UTCDateTime)
    checkin_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_checkin_code)
    checked_in_at = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    event: Mapped[Event] = relationship(back_populates="registrations")
    user = relationship("User", foreign_keys=[user_id])
    checked_in_by = relationship("User", foreign_keys=[checked_in_by_id])
    answers: Mapped[list["RegistrationAnswer"]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def is_confirmed(self) -> bool:
        return self.status is RegistrationStatus.confirmed

    @property
    def is_waitlisted(self) -> bool:
        return self.status is RegistrationStatus.waitlisted

    @property
    def is_active(self) -> bool:
        return self.status is not RegistrationStatus.cancelled

    @property
    def has_attended(self) -> bool:
        return attended(self)

    def can_transition(self, to: RegistrationStatus) -> bool:
        return to in REGISTRATION_TRANSITIONS[self.status]

    def cancel_problem(self, now) -> WorkflowError | None:
        """Why the registrant may not give up the seat or the waitlist place now (None when they may): the one
        rule, which ``services.cancel_problem`` applies and the page asks through :meth:`can_cancel`."""
        if not self.is_active or not self.can_transition(RegistrationStatus.cancelled):
            return WorkflowError(_("You are not registered for this event."), code="not-registered", status=409)
        if self.event.is_cancelled:
            return WorkflowError(_("This event has been cancelled."), code="cancelled", status=409)
        if self.checked_in_at is not None:
            return WorkflowError(_("You have checked in at this event, so your registration can no longer be "
                                   "cancelled."), code="checked-in", status=409)
        if now >= self.event.closes_at:
            return WorkflowError(_("The deadline has passed: registrations can no longer be cancelled here. "
                                   "Please write to the organisers."), code="closed", status=409)
        return None

    def can_cancel(self, user, now) -> bool:
        """Whether `user` is the registrant and may cancel now (see :meth:`cancel_problem`)."""
        return (user is not None and getattr(user, "id", None) == self.user_id
                and self.cancel_problem(now) is None)

    def answer_for(self, question_id: int) -> str:
        for answer in self.answers:
            if answer.question_id == question_id:
                return answer.value
        return ""

    def __repr__(self) -> str:
        return f"<Registration {self.id} event={self.event_id} user={self.user_id} {self.status.value}>"


class RegistrationAnswer(db.Model):
    __tablename__ = "event_registration_answers"
    __table_args__ = (UniqueConstraint("registration_id", "question_id",
                                       name="uq_event_registration_answers_registration_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registrations.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("event_questions.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(String(500), default="")

    registration: Mapped[Registration] = relationship(back_populates="answers")
    question: Mapped[EventQuestion] = relationship()


# --- Attendance: what gates participation certificates --------------------------------------------

def attended(registration: Registration) -> bool:
    """True when the person came: a confirmed registration that was checked in."""
    return (registration is not None and registration.status is RegistrationStatus.confirmed
            and registration.checked_in_at is not None)


def attended_clause():
    """The same rule as `attended`, as an SQL condition on Registration (for queries)."""
    return (Registration.status == RegistrationStatus.confirmed) & Registration.checked_in_at.is_not(None)
