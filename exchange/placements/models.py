"""Matching runs, offers and nominations.

Tables
------
``matching_runs``           one run of the placement algorithm for a call (draft → published | superseded);
                            round 1 places the eligible applications, later rounds the waiting list over the
                            seats freed since
``matching_run_places``     per run and destination: seats offered in the run, seats filled, the cut-off
``matching_run_placements`` per run and application: the place obtained (or none), the rank of that choice,
                            a snapshot of the score and of the choices (eligible or not, and why)
``matching_adjustments``    a coordinator's manual move in a draft run: who, why, from → to, the warnings
``placement_offers``        an offer made when a run is published: deadline, status, the documents the
                            student agreed to share with the partner
``nominations``             a student nominated to the receiving partner: the two-sided status, planned
                            arrival and departure, shared documents, the partner's decision

The statuses of runs, offers and nominations follow the tables of ``exchange.placements.workflow`` and change
only through ``exchange.placements.transitions``. The application's own status (placed, waitlisted, accepted …)
stays in ``applications`` and changes only through ``exchange.applications.services.transition``; the rows here
add what the placement step needs.
"""
from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..applications.models import Application, Call, CallPlace, DocumentKind
from ..auth.models import Role, User
from ..core.types import UTCDateTime, enum_column, utcnow
from ..extensions import db
from ..partners.models import PartnerInstitution
from .workflow import (ACTIVE_NOMINATION, NominationStatus, OfferStatus, RunStatus,  # noqa: F401 (re-exported)
                       can_transition)




class UnplacedReason(str, enum.Enum):
    full = "full"                    # every eligible choice was filled by better-ranked students
    no_eligible_choice = "no_eligible_choice"  # none of the choices can take the student
    adjusted = "adjusted"            # a coordinator moved the student out of their place


#: The longest reason given for a manual move, a cancelled nomination or a partner's decision.
REASON_MAX = 1000


def kinds_from_text(text: str | None) -> list[DocumentKind]:
    values = {v.strip() for v in (text or "").split(",") if v.strip()}
    return [kind for kind in DocumentKind if kind.value in values]


def kinds_to_text(kinds) -> str:
    wanted = {DocumentKind(k).value for k in kinds}
    return ",".join(k.value for k in DocumentKind if k.value in wanted)


class MatchingRun(db.Model):
    __tablename__ = "matching_runs"
    __table_args__ = (
        Index("ix_matching_runs_call_round", "call_id", "round"),
        Index("ix_matching_runs_status_created", "status", "created_at"),
        CheckConstraint("round >= 1", name="round_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "matching_run_status", 20),
                                              default=RunStatus.draft)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at = mapped_column(UTCDateTime)
    offer_deadline = mapped_column(UTCDateTime)
    # The input, counted when the run was made
    applications_count: Mapped[int] = mapped_column(Integer, default=0)
    unscored_count: Mapped[int] = mapped_column(Integer, default=0)
    places_count: Mapped[int] = mapped_column(Integer, default=0)
    seats_count: Mapped[int] = mapped_column(Integer, default=0)
    eligible_pairs_count: Mapped[int] = mapped_column(Integer, default=0)
    ineligible_pairs_count: Mapped[int] = mapped_column(Integer, default=0)
    # The result (kept up to date by manual adjustments)
    placed_count: Mapped[int] = mapped_column(Integer, default=0)
    adjustments_count: Mapped[int] = mapped_column(Integer, default=0)
    # {"by_choice": {"1": n, "2": n, …}, "unplaced": n}
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

    call: Mapped[Call] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    places: Mapped[list["RunPlace"]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                    order_by="RunPlace.id")

    @property
    def is_draft(self) -> bool:
        return self.status is RunStatus.draft

    @property
    def is_published(self) -> bool:
        return self.status is RunStatus.published

    def can_publish(self) -> bool:
        """The workflow allows publishing this run (the call's own rules are checked by offers.check_publishable)."""
        return can_transition(self.status, RunStatus.published)

    def can_adjust(self) -> bool:
        """Students can be moved by hand only in a draft run."""
        return self.is_draft

    @property
    def unplaced_count(self) -> int:
        return self.applications_count - self.placed_count

    def by_choice(self) -> list[tuple[int, int]]:
        """[(choice rank, students placed at it)] in rank order."""
        counts = (self.stats or {}).get("by_choice", {})
        return sorted((int(rank), n) for rank, n in counts.items())

    def __repr__(self) -> str:
        return f"<MatchingRun {self.id} call={self.call_id} round={self.round} {self.status.value}>"


class RunPlace(db.Model):
    """A destination's outcome in a run: seats offered (in later rounds: the seats freed), filled, cut-off."""
    __tablename__ = "matching_run_places"
    __table_args__ = (UniqueConstraint("run_id", "place_id", name="uq_matching_run_places_place"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("matching_runs.id", ondelete="CASCADE"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("call_places.id", ondelete="CASCADE"), index=True)
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    # Set only when the place is full: the lowest-ranked student placed there and their score.
    cutoff_application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id", ondelete="SET NULL"))
    cutoff_score = mapped_column(Numeric(5, 2))

    run: Mapped[MatchingRun] = relationship(back_populates="places")
    place: Mapped[CallPlace] = relationship()

    @property
    def is_full(self) -> bool:
        return self.filled >= self.capacity

    @property
    def over_capacity(self) -> bool:
        return self.filled > self.capacity


class RunPlacement(db.Model):
    """One application in one run. ``choices`` is the snapshot of the student's list when the run was made:
    ``[{"place": id, "rank": n, "eligible": bool, "reasons": [{"code": …, "params": {…}}]}]``."""
    __tablename__ = "matching_run_placements"
    __table_args__ = (
        UniqueConstraint("run_id", "application_id", name="uq_matching_run_placements_application"),
        Index("ix_matching_run_placements_run_place", "run_id", "place_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("matching_runs.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("call_places.id", ondelete="SET NULL"))
    choice_rank: Mapped[int | None] = mapped_column(Integer)  # the rank of the place obtained in the student's list
    score = mapped_column(Numeric(5, 2))
    submitted_at = mapped_column(UTCDateTime)
    choices: Mapped[list] = mapped_column(JSON, default=list)
    reason: Mapped[UnplacedReason | None] = mapped_column(enum_column(UnplacedReason, "unplaced_reason", 24))
    adjusted: Mapped[bool] = mapped_column(Boolean, default=False)

    run: Mapped[MatchingRun] = relationship()
    application: Mapped[Application] = relationship()
    place: Mapped[CallPlace | None] = relationship()

    def rank_key(self):
        """Best first: higher score (missing last), earlier submission, lower application id."""
        return rank_key(self.score, self.submitted_at, self.application_id)

    def choice(self, place_id: int) -> dict | None:
        return next((c for c in self.choices or () if c["place"] == place_id), None)


def rank_key(score, submitted_at, application_id):
    """The ranking of a matching, in Python: score descending (missing last), then the earlier submission, then
    the lower application id. The one rule: the run's input, the cut-offs, the manual moves' fairness check and
    (as :func:`rank_order`) the run page, its index and the comparison of two runs all order by it."""
    from datetime import datetime, timezone
    return (score is None, -(score or 0), submitted_at is None,
            submitted_at or datetime.max.replace(tzinfo=timezone.utc), application_id)


def rank_order(score, submitted_at, application_id) -> tuple:
    """:func:`rank_key` as SQL ORDER BY terms over the given columns: `score DESC NULLS LAST, submitted_at,
    application_id` (submissions are never missing on a ranked row)."""
    return (score.desc().nulls_last(), submitted_at, application_id)


#: The ranking of a run's students (ORDER BY terms), :func:`rank_key` over RunPlacement's columns.
RUN_RANKING = rank_order(RunPlacement.score, RunPlacement.submitted_at, RunPlacement.application_id)

# The run page lists a run's placed and unplaced students in ranking order (RUN_RANKING): a page is read from this
# index instead of sorting every student of the run. PostgreSQL only, like ix_applications_call_score_rank (SQLite
# cannot put NULLS LAST in an index).
Index("ix_matching_run_placements_rank", RunPlacement.run_id, *RUN_RANKING).ddl_if(dialect="postgresql")


class ManualAdjustment(db.Model):
    """``warnings``: ``[{"code": "over_capacity" | "unfair" | "seat_left_free" | "not_chosen" | "not_eligible",
    "params": {…}}]`` as they were shown to the coordinator who confirmed the move."""
    __tablename__ = "matching_adjustments"
    __table_args__ = (Index("ix_matching_adjustments_run_at", "run_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("matching_runs.id", ondelete="CASCADE"))
    placement_id: Mapped[int] = mapped_column(ForeignKey("matching_run_placements.id", ondelete="CASCADE"),
                                              index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    from_place_id: Mapped[int | None] = mapped_column(ForeignKey("call_places.id", ondelete="SET NULL"))
    to_place_id: Mapped[int | None] = mapped_column(ForeignKey("call_places.id", ondelete="SET NULL"))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    warnings: Mapped[list] = mapped_column(JSON, default=list)

    application: Mapped[Application] = relationship()
    from_place: Mapped[CallPlace | None] = relationship(foreign_keys=[from_place_id])
    to_place: Mapped[CallPlace | None] = relationship(foreign_keys=[to_place_id])
    by: Mapped[User | None] = relationship()


class Offer(db.Model):
    __tablename__ = "placement_offers"
    __table_args__ = (Index("ix_placement_offers_status_deadline", "status", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("matching_runs.id", ondelete="CASCADE"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("call_places.id", ondelete="RESTRICT"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    deadline = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[OfferStatus] = mapped_column(enum_column(OfferStatus, "offer_status", 20),
                                                default=OfferStatus.offered)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    responded_at = mapped_column(UTCDateTime)
    # The document kinds the student agreed to share with the partner (comma-separated DocumentKind values).
    shared_documents: Mapped[str] = mapped_column(String(200), default="")

    application: Mapped[Application] = relationship()
    run: Mapped[MatchingRun] = relationship()
    place: Mapped[CallPlace] = relationship()

    @property
    def shared_kinds(self) -> list[DocumentKind]:
        return kinds_from_text(self.shared_documents)

    @property
    def is_pending(self) -> bool:
        """Waiting for the student's answer (it may be past its deadline until the expiry job runs)."""
        return self.status is OfferStatus.offered

    @property
    def is_accepted(self) -> bool:
        return self.status is OfferStatus.accepted

    @property
    def is_declined(self) -> bool:
        return self.status is OfferStatus.declined

    @property
    def is_expired(self) -> bool:
        return self.status is OfferStatus.expired

    def is_past_deadline(self, now) -> bool:
        return self.deadline < now

    def can_respond(self, user, now) -> bool:
        """The student may still accept or decline: their offer, unanswered, before its deadline."""
        return (user is not None and getattr(user, "id", None) == self.application.student_id
                and can_transition(self.status, OfferStatus.accepted) and not self.is_past_deadline(now))


class Nomination(db.Model):
    """A student nominated to the receiving partner. The partner sees nominated as "pending"."""
    __tablename__ = "nominations"
    __table_args__ = (
        Index("ix_nominations_institution_year_status", "institution_id", "academic_year", "status"),
        Index("ix_nominations_status_nominated", "status", "nominated_at"),
        CheckConstraint("planned_arrival IS NULL OR planned_departure IS NULL OR planned_arrival < planned_departure",
                        name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("partner_institutions.id", ondelete="RESTRICT"))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("call_places.id", ondelete="SET NULL"))
    academic_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[NominationStatus] = mapped_column(enum_column(NominationStatus, "nomination_status", 20),
                                                     default=NominationStatus.nominated)
    planned_arrival: Mapped[date | None] = mapped_column(Date)
    planned_departure: Mapped[date | None] = mapped_column(Date)
    shared_documents: Mapped[str] = mapped_column(String(200), default="")
    nominated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    nominated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # The partner's decision (accepted / rejected), or the sending side's cancellation
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship()
    institution: Mapped[PartnerInstitution] = relationship()
    place: Mapped[CallPlace | None] = relationship()
    nominated_by: Mapped[User | None] = relationship(foreign_keys=[nominated_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def shared_kinds(self) -> list[DocumentKind]:
        return kinds_from_text(self.shared_documents)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_NOMINATION

    @property
    def is_pending(self) -> bool:
        """Waiting for the partner's decision (partners see "pending")."""
        return self.status is NominationStatus.nominated

    @property
    def is_accepted(self) -> bool:
        return self.status is NominationStatus.accepted

    @property
    def is_rejected(self) -> bool:
        return self.status is NominationStatus.rejected

    @property
    def is_cancelled(self) -> bool:
        return self.status is NominationStatus.cancelled

    @property
    def has_closing_reason(self) -> bool:
        """A reason is shown for a rejected or cancelled nomination."""
        return bool(self.reason) and self.status in (NominationStatus.rejected, NominationStatus.cancelled)

    def can_decide(self, user) -> bool:
        """A user of the receiving partner may accept or reject it while it is pending."""
        return (user is not None and getattr(user, "role", None) is Role.partner
                and user.institution_id == self.institution_id
                and can_transition(self.status, NominationStatus.accepted))

    def can_cancel(self) -> bool:
        """The sending side may still cancel it."""
        return can_transition(self.status, NominationStatus.cancelled)

    def __repr__(self) -> str:
        return f"<Nomination {self.id} application={self.application_id} {self.status.value}>"
