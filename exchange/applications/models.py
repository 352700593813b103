"""Calls for applications, student applications and their review.

Tables
------
``calls``                    one round of applications (academic year, period, dates, rules)
``call_criteria``            the call's scoring criteria with weights (percent, adding up to 100)
``call_places``              a place of a call: an outgoing CooperationCondition + seats for this call
``applications``             one student's application to one call (unique per call and student)
``application_languages``    the student's language skills (ISO 639-1 + CEFR + optional certificate)
``application_choices``      ranked destinations: (application, call place, rank 1..n)
``application_documents``    uploaded files, one per document kind, stored outside static/ under random names
``application_reviews``      a reviewer assigned to an application, with the weighted total of their scores
``review_scores``            a reviewer's score (0–10) for one criterion
``application_status_changes`` the timeline: every transition with who, when, comment
``application_comments``     comments, internal (coordinators only) or to the student
``application_status_counts`` applications per call and status, kept by database triggers (see triggers.py)

For the placement (matching) step
---------------------------------
* ``Application.score`` – mean of the reviewers' weighted totals (0–100, None until scored);
  ``submitted_at``, ``id`` as tie-breaks (``placements.models.rank_key``, the one ranking rule; the GPA is not one);
  ``Application.gpa_normalised`` (0–10) is checked against a call's minimum grade;
  ``Application.status`` (``workflow.ApplicationStatus``).
* ``Application.choices`` – ``ApplicationChoice(place_id, rank)`` ordered by rank (1 = most wanted).
* ``Call.places`` – ``CallPlace(id, seats, condition)``; ``CallPlace.partner`` is the institution.
* ``Application.placed_place_id`` / ``placed_institution_id`` – set by ``services.set_placement``;
  ``Application.nominated_at`` – set by ``services.mark_nominated`` when the student is nominated to
  the partner: only then may that partner's users see the application and its documents
  (``access.partner_may_see``; a document also passes ``access.partner_may_see_document``).
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (DDL, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, event)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.reference import short_place_label
from ..core.types import UTCDateTime, enum_column, utcnow
from ..extensions import db
from ..partners.models import Agreement, CooperationCondition, MobilityType, PartnerInstitution
from . import triggers
from .scoring import GpaScale
from .workflow import Actor, ApplicationStatus, is_editable

MOTIVATION_MIN = 100
MOTIVATION_MAX = 4000
SUPPORT_NEEDS_MAX = 2000
MAX_CHOICES_LIMIT = 10


class CallPeriod(str, enum.Enum):
    autumn = "autumn"
    spring = "spring"
    full_year = "full_year"


class DocumentKind(str, enum.Enum):
    transcript = "transcript"
    language_certificate = "language_certificate"
    cv = "cv"
    motivation_letter = "motivation_letter"
    id_document = "id_document"
    recommendation = "recommendation"


class Call(db.Model):
    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint("opens_at < closes_at", name="dates_ordered"),
        CheckConstraint("max_choices >= 1 AND max_choices <= 10", name="max_choices_range"),
        Index("ix_calls_opens_closes", "opens_at", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # The academic year as its first calendar year: 2027 means 2027/28.
    academic_year: Mapped[int] = mapped_column(Integer, index=True)
    period: Mapped[CallPeriod] = mapped_column(enum_column(CallPeriod, "call_period", 20))
    mobility_type: Mapped[MobilityType] = mapped_column(
        enum_column(MobilityType, "mobility_type", 20), default=MobilityType.study)
    description: Mapped[str | None] = mapped_column(Text)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    max_choices: Mapped[int] = mapped_column(Integer, default=3)
    # Eligibility: minimum GPA on the common 0–10 scale (None = no minimum); EQF levels "6,7" ("" = any).
    min_gpa: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    eqf_levels: Mapped[str] = mapped_column(String(20), default="")
    # Required documents as a comma-separated list of DocumentKind values.
    required_documents: Mapped[str] = mapped_column(String(200), default="transcript,cv")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # Raised by database triggers (triggers.py) whenever the call's list of destinations may read differently.
    places_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    criteria: Mapped[list["ScoringCriterion"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="ScoringCriterion.position")
    places: Mapped[list["CallPlace"]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallPlace.id")

    @property
    def eqf_level_list(self) -> list[int]:
        return [int(v) for v in (self.eqf_levels or "").split(",") if v.strip()]

    @eqf_level_list.setter
    def eqf_level_list(self, levels) -> None:
        self.eqf_levels = ",".join(str(v) for v in sorted({int(v) for v in levels}))

    @property
    def required_document_list(self) -> list[DocumentKind]:
        values = [v.strip() for v in (self.required_documents or "").split(",") if v.strip()]
        return [kind for kind in DocumentKind if kind.value in values]

    @required_document_list.setter
    def required_document_list(self, kinds) -> None:
        wanted = {DocumentKind(k).value for k in kinds}
        self.required_documents = ",".join(k.value for k in DocumentKind if k.value in wanted)

    def phase(self, now: datetime | None = None) -> str:
        """'upcoming', 'open' or 'closed'."""
        now = now or utcnow()
        if now < self.opens_at:
            return "upcoming"
        if now > self.closes_at:
            return "closed"
        return "open"

    def is_open(self, now: datetime | None = None) -> bool:
        return self.phase(now) == "open"

    def __repr__(self) -> str:
        return f"<Call {self.id} {self.title!r}>"


class ScoringCriterion(db.Model):
    __tablename__ = "call_criteria"
    __table_args__ = (CheckConstraint("weight >= 0 AND weight <= 100", name="weight_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(80))
    weight: Mapped[int] = mapped_column(Integer)
    # When set, the score form suggests the student's GPA converted to 0–10 for this criterion.
    uses_gpa: Mapped[bool] = mapped_column(default=False)

    call: Mapped[Call] = relationship(back_populates="criteria")


class CallPlace(db.Model):
    """A destination offered by a call: one outgoing cooperation condition, with the seats for this call."""
    __tablename__ = "call_places"
    __table_args__ = (
        UniqueConstraint("call_id", "condition_id", name="uq_call_places_call_condition"),
        CheckConstraint("seats >= 0", name="seats_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    condition_id: Mapped[int] = mapped_column(ForeignKey("cooperation_conditions.id", ondelete="RESTRICT"),
                                              index=True)
    seats: Mapped[int] = mapped_column(Integer, default=1)

    call: Mapped[Call] = relationship(back_populates="places")
    condition: Mapped[CooperationCondition] = relationship()

    @property
    def partner(self) -> PartnerInstitution:
        return self.condition.agreement.partner

    @property
    def isced_code(self) -> str:
        return self.condition.isced_code

    @property
    def short_label(self) -> str:
        """'Partner – ISCED code' (``core.reference.short_place_label``)."""
        return short_place_label(self.partner.name, self.condition.isced_code)

    @property
    def eqf_level_list(self) -> list[int]:
        return self.condition.eqf_level_list

    @property
    def language_requirements(self) -> list[tuple[str, str]]:
        return [(req.language, req.cefr_level) for req in self.condition.languages]

    def __repr__(self) -> str:
        return f"<CallPlace {self.id} call={self.call_id} condition={self.condition_id}>"



def join_partner(query, place_id=None):
    """`query` joined to a place's cooperation condition, agreement and partner institution, to select e.g.
    PartnerInstitution.name or CooperationCondition.isced_code with it; from the place with the id `place_id`
    (a column), or from CallPlace itself when the query already selects from it."""
    if place_id is not None:
        query = query.join(CallPlace, CallPlace.id == place_id)
    return (query.join(CooperationCondition, CooperationCondition.id == CallPlace.condition_id)
            .join(Agreement, Agreement.id == CooperationCondition.agreement_id)
            .join(PartnerInstitution, PartnerInstitution.id == Agreement.partner_id))


class Application(db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("call_id", "student_id", name="uq_applications_call_student"),
        Index("ix_applications_call_status", "call_id", "status"),
        Index("ix_applications_call_score", "call_id", "score"),
        Index("ix_applications_call_name", "call_id", "full_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus, "application_status", 24), default=ApplicationStatus.draft, index=True)
    # Optimistic locking: every UPDATE bumps it; forms carry the version they were rendered with.
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    # Personal data
    full_name: Mapped[str | None] = mapped_column(String(120))
    date_of_birth = mapped_column(Date)
    nationality: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    student_number: Mapped[str | None] = mapped_column(String(32), index=True)
    # Studies
    study_programme: Mapped[str | None] = mapped_column(String(200))
    isced_code: Mapped[str | None] = mapped_column(String(4), index=True)
    eqf_level: Mapped[int | None] = mapped_column(Integer, index=True)
    year_of_study: Mapped[int | None] = mapped_column(Integer)
    gpa: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    gpa_scale: Mapped[GpaScale | None] = mapped_column(enum_column(GpaScale, "gpa_scale", 10))
    gpa_normalised: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))  # 0–10, see scoring.py
    # Motivation, and support needs (visible only to the student and coordinators)
    motivation: Mapped[str | None] = mapped_column(Text)
    support_needs: Mapped[str | None] = mapped_column(Text)

    # Review: mean of the reviewers' weighted totals, 0–100
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))

    # Placement (written by the placements step through services.set_placement / mark_nominated)
    placed_place_id: Mapped[int | None] = mapped_column(ForeignKey("call_places.id", ondelete="SET NULL"),
                                                        index=True)
    placed_institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_institutions.id", ondelete="SET NULL"), index=True)
    nominated_at = mapped_column(UTCDateTime)

    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    submitted_at = mapped_column(UTCDateTime, index=True)  # the last (re)submission
    status_changed_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __mapper_args__ = {"version_id_col": version_id}

    call: Mapped[Call] = relationship()
    student: Mapped[User] = relationship(foreign_keys=[student_id])
    languages: Mapped[list["LanguageSkill"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="LanguageSkill.id")
    choices: Mapped[list["ApplicationChoice"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationChoice.rank")
    documents: Mapped[list["ApplicationDocument"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="ApplicationDocument.id")
    reviews: Mapped[list["Review"]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Review.id")
    history: Mapped[list["StatusChange"]] = relationship(
        back_populates="application", cascade="all, delete-orphan",
        order_by="(StatusChange.at, StatusChange.id)")
    comments: Mapped[list["ApplicationComment"]] = relationship(
        back_populates="application", cascade="all, delete-orphan",
        order_by="(ApplicationComment.created_at, ApplicationComment.id)")
    placed_place: Mapped[CallPlace | None] = relationship(foreign_keys=[placed_place_id])
    placed_institution: Mapped[PartnerInstitution | None] = relationship(foreign_keys=[placed_institution_id])

    @property
    def scored_review_count(self) -> int:
        """How many of the (loaded) reviews have a total."""
        return sum(1 for review in self.reviews if review.total is not None)

    @property
    def is_editable(self) -> bool:
        """The student may change the content (a draft, or after a request for changes)."""
        return is_editable(self.status)

    @property
    def language_levels(self) -> dict[str, str]:
        return {skill.language: skill.cefr_level for skill in self.languages}

    def document(self, kind: DocumentKind) -> "ApplicationDocument | None":
        return next((d for d in self.documents if d.kind == kind), None)

    def __repr__(self) -> str:
        return f"<Application {self.id} call={self.call_id} {self.status.value}>"


# The pipeline sorted by score (best first, unscored last): `ORDER BY score DESC NULLS LAST, id` reads its page
# from this index instead of sorting every application of the call. PostgreSQL only: SQLite cannot put NULLS LAST
# in an index (and sorts NULLs last on DESC anyway); migrations/env.py writes it guarded by the dialect.
Index("ix_applications_call_score_rank", Application.call_id, Application.score.desc().nulls_last(),
      Application.id).ddl_if(dialect="postgresql")


class ApplicationStatusCount(db.Model):
    """How many applications of a call are in a status, kept by database triggers (triggers.py): never written
    by the application itself."""
    __tablename__ = "application_status_counts"

    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[ApplicationStatus] = mapped_column(enum_column(ApplicationStatus, "application_status", 24),
                                                      primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


for _statement in triggers.POSTGRESQL:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in triggers.POSTGRESQL_DROP:
    event.listen(db.metadata, "after_drop", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in triggers.SQLITE:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="sqlite"))


class LanguageSkill(db.Model):
    __tablename__ = "application_languages"
    __table_args__ = (UniqueConstraint("application_id", "language", name="uq_application_languages_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(2))  # ISO 639-1
    cefr_level: Mapped[str] = mapped_column(String(2))  # A1 … C2
    certificate: Mapped[str | None] = mapped_column(String(120))  # e.g. "DELE B2 (2025)"

    application: Mapped[Application] = relationship(back_populates="languages")


class ApplicationChoice(db.Model):
    """A ranked destination: rank 1 is the student's first choice."""
    __tablename__ = "application_choices"
    __table_args__ = (
        UniqueConstraint("application_id", "rank", name="uq_application_choices_rank"),
        UniqueConstraint("application_id", "place_id", name="uq_application_choices_place"),
        CheckConstraint("rank >= 1", name="rank_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("call_places.id", ondelete="RESTRICT"), index=True)
    rank: Mapped[int] = mapped_column(Integer)

    application: Mapped[Application] = relationship(back_populates="choices")
    place: Mapped[CallPlace] = relationship()


class ApplicationDocument(db.Model):
    __tablename__ = "application_documents"
    __table_args__ = (UniqueConstraint("application_id", "kind", name="uq_application_documents_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind", 24))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)  # random, in UPLOAD_FOLDER
    original_name: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    application: Mapped[Application] = relationship(back_populates="documents")

    @property
    def is_image(self) -> bool:
        return self.mimetype.startswith("image/")


class Review(db.Model):
    """A reviewer of an application; `total` is the weighted total of their scores (None until scored)."""
    __tablename__ = "application_reviews"
    __table_args__ = (UniqueConstraint("application_id", "reviewer_id", name="uq_application_reviews_reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    total: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    scored_at = mapped_column(UTCDateTime)

    application: Mapped[Application] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    scores: Mapped[list["ReviewScore"]] = relationship(back_populates="review", cascade="all, delete-orphan")

    def score_for(self, criterion_id: int) -> Decimal | None:
        return next((s.score for s in self.scores if s.criterion_id == criterion_id), None)


class ReviewScore(db.Model):
    __tablename__ = "review_scores"
    __table_args__ = (
        UniqueConstraint("review_id", "criterion_id", name="uq_review_scores_criterion"),
        CheckConstraint("score >= 0 AND score <= 10", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("application_reviews.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("call_criteria.id", ondelete="CASCADE"), index=True)
    score: Mapped[Decimal] = mapped_column(Numeric(4, 2))

    review: Mapped[Review] = relationship(back_populates="scores")
    criterion: Mapped[ScoringCriterion] = relationship()


class StatusChange(db.Model):
    """One step of an application's timeline."""
    __tablename__ = "application_status_changes"
    __table_args__ = (Index("ix_application_status_changes_application_at", "application_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    from_status: Mapped[ApplicationStatus | None] = mapped_column(
        enum_column(ApplicationStatus, "application_status", 24))
    to_status: Mapped[ApplicationStatus] = mapped_column(enum_column(ApplicationStatus, "application_status", 24))
    actor: Mapped[Actor] = mapped_column(enum_column(Actor, "workflow_actor", 10))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship(back_populates="history")
    by: Mapped[User | None] = relationship(foreign_keys=[by_id])


class ApplicationComment(db.Model):
    __tablename__ = "application_comments"
    __table_args__ = (Index("ix_application_comments_application_created", "application_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text)
    # Internal comments are for coordinators only; the others are messages to the student.
    is_internal: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    application: Mapped[Application] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
