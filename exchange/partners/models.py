"""Partner institutions, their contacts, inter-institutional agreements (after the EWP IIA) and factsheets."""
import enum
from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.types import UTCDateTime, enum_column, utcnow
from ..extensions import db

#: Sane limits for agreements and their cooperation conditions (checked by forms and services alike).
MIN_ACADEMIC_YEAR = 2000
YEARS_AHEAD = 10          # the first year may be at most this many years after the current one
MAX_AGREEMENT_YEARS = 10  # an agreement covers at most this many academic years
MAX_PLACES = 100
MAX_MONTHS = 24
MAX_LANGUAGES = 3
TERMINATION_REASON_MAX = 500  # characters


def current_academic_year(today: date | None = None) -> int:
    """The first calendar year of the academic year in course: 1 Sept 2026 – 31 Aug 2027 → 2026."""
    today = today or date.today()
    return today.year if today.month >= 9 else today.year - 1


class HomeInstitution(db.Model):
    """The university running the platform (one row): shown on letters and certificates."""
    __tablename__ = "home_institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(120))
    schac_code: Mapped[str | None] = mapped_column(String(120))
    erasmus_code: Mapped[str | None] = mapped_column(String(20))
    website: Mapped[str | None] = mapped_column(String(300))
    office_email: Mapped[str | None] = mapped_column(String(254))
    logo_path: Mapped[str | None] = mapped_column(String(300))
    signatory_name: Mapped[str | None] = mapped_column(String(120))
    signatory_title: Mapped[str | None] = mapped_column(String(120))
    signature_path: Mapped[str | None] = mapped_column(String(300))


class PartnerInstitution(db.Model):
    __tablename__ = "partner_institutions"
    __table_args__ = (Index("ix_partner_institutions_country_name", "country", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(120))
    website: Mapped[str | None] = mapped_column(String(300))
    # SCHAC home organisation code, e.g. uni-bologna.it; stored lower-case.
    schac_code: Mapped[str] = mapped_column(String(120), unique=True)
    # Erasmus institution code, e.g. "I  BOLOGNA01".
    erasmus_code: Mapped[str | None] = mapped_column(String(20), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    contacts: Mapped[list["PartnerContact"]] = relationship(
        back_populates="institution", cascade="all, delete-orphan", order_by="PartnerContact.name")
    agreements: Mapped[list["Agreement"]] = relationship(
        back_populates="partner", order_by="Agreement.first_year.desc()")

    def __repr__(self) -> str:
        return f"<PartnerInstitution {self.schac_code}>"


class PartnerContact(db.Model):
    __tablename__ = "partner_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("partner_institutions.id", ondelete="CASCADE"),
                                                index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))

    institution: Mapped[PartnerInstitution] = relationship(back_populates="contacts")


class AgreementStatus(str, enum.Enum):
    draft = "draft"
    active = "active"
    terminated = "terminated"
    expired = "expired"  # never stored: an active agreement whose last year has passed

    @property
    def label(self) -> str:
        from ..core.i18n import gettext as _
        # One translation per call (a list page asks for it on every row).
        if self is AgreementStatus.active:
            return _("Active")
        if self is AgreementStatus.draft:
            return _("Draft")
        if self is AgreementStatus.terminated:
            return _("Terminated")
        return _("Expired")


def effective_status(status: AgreementStatus, last_year: int, academic_year: int | None = None) -> AgreementStatus:
    """The status shown: an active agreement whose last academic year has passed is expired."""
    if status is AgreementStatus.active and last_year < (academic_year or current_academic_year()):
        return AgreementStatus.expired
    return status


#: Stored status → stored statuses an edit may move it to (termination has its own action).
TRANSITIONS = {
    AgreementStatus.draft: {AgreementStatus.draft, AgreementStatus.active},
    AgreementStatus.active: {AgreementStatus.active},
    AgreementStatus.terminated: set(),
}


class Direction(str, enum.Enum):
    outgoing = "outgoing"  # our students go to the partner
    incoming = "incoming"  # the partner's students come to us

    @property
    def label(self) -> str:
        from ..core.i18n import gettext as _
        return {"outgoing": _("Outgoing"), "incoming": _("Incoming")}[self.value]


class MobilityType(str, enum.Enum):
    study = "study"
    traineeship = "traineeship"

    @property
    def label(self) -> str:
        from ..core.i18n import gettext as _
        return {"study": _("Studies"), "traineeship": _("Traineeship")}[self.value]


class Agreement(db.Model):
    """An inter-institutional agreement between the home institution and one partner."""
    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint("first_year <= last_year", name="years_ordered"),
        Index("ix_agreements_status_years", "status", "first_year", "last_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_institutions.id", ondelete="RESTRICT"),
                                            index=True)
    # Academic years as their first calendar year: 2026 means 2026/27.
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    # Stored: draft, active or terminated. "expired" is derived from the years (see effective_status).
    status: Mapped[AgreementStatus] = mapped_column(
        enum_column(AgreementStatus, "agreement_status", 20),
        default=AgreementStatus.draft)
    reference: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    terminated_at = mapped_column(UTCDateTime)
    termination_reason: Mapped[str | None] = mapped_column(String(500))
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    partner: Mapped[PartnerInstitution] = relationship(back_populates="agreements")
    conditions: Mapped[list["CooperationCondition"]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan",
        order_by="(CooperationCondition.direction, CooperationCondition.isced_code, CooperationCondition.id)")

    def effective_status(self, academic_year: int | None = None) -> AgreementStatus:
        return effective_status(self.status, self.last_year, academic_year)

    def covers(self, academic_year: int) -> bool:
        return self.first_year <= academic_year <= self.last_year

    @property
    def is_editable(self) -> bool:
        """Terminated agreements are kept as they were."""
        return self.status is not AgreementStatus.terminated

    def can_terminate(self, academic_year: int | None = None) -> bool:
        return self.effective_status(academic_year) in (AgreementStatus.draft, AgreementStatus.active)

    @property
    def outgoing_places(self) -> int:
        """Places per year for our students, over all conditions."""
        return sum(c.places_per_year for c in self.conditions if c.direction is Direction.outgoing)

    @property
    def incoming_places(self) -> int:
        """Places per year for the partner's students, over all conditions."""
        return sum(c.places_per_year for c in self.conditions if c.direction is Direction.incoming)


class CooperationCondition(db.Model):
    """One direction and mobility type of an agreement: subject area, levels, places, languages."""
    __tablename__ = "cooperation_conditions"
    __table_args__ = (
        CheckConstraint("places_per_year >= 0", name="places_not_negative"),
        CheckConstraint("months_per_place >= 0", name="months_not_negative"),
        Index("ix_cooperation_conditions_direction_isced", "direction", "isced_code"),
        Index("ix_cooperation_conditions_isced_code", "isced_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    direction: Mapped[Direction] = mapped_column(
        enum_column(Direction, "direction", 20))
    mobility_type: Mapped[MobilityType] = mapped_column(
        enum_column(MobilityType, "mobility_type", 20), default=MobilityType.study)
    isced_code: Mapped[str] = mapped_column(String(4))
    # EQF levels as a sorted comma-separated list, e.g. "6,7".
    eqf_levels: Mapped[str] = mapped_column(String(20), default="6,7")
    places_per_year: Mapped[int] = mapped_column(Integer, default=1)
    months_per_place: Mapped[int] = mapped_column(Integer, default=5)

    agreement: Mapped[Agreement] = relationship(back_populates="conditions")
    languages: Mapped[list["LanguageRequirement"]] = relationship(
        back_populates="condition", cascade="all, delete-orphan", order_by="LanguageRequirement.id")

    @property
    def eqf_level_list(self) -> list[int]:
        return [int(v) for v in self.eqf_levels.split(",") if v.strip()]

    @eqf_level_list.setter
    def eqf_level_list(self, levels) -> None:
        self.eqf_levels = ",".join(str(v) for v in sorted({int(v) for v in levels}))


class LanguageRequirement(db.Model):
    __tablename__ = "language_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    condition_id: Mapped[int] = mapped_column(ForeignKey("cooperation_conditions.id", ondelete="CASCADE"),
                                              index=True)
    language: Mapped[str] = mapped_column(String(2))  # ISO 639-1
    cefr_level: Mapped[str] = mapped_column(String(2))  # A1 … C2

    condition: Mapped[CooperationCondition] = relationship(back_populates="languages")


class PartnerFactsheet(db.Model):
    """What a partner tells incoming students: deadlines, requirements, housing, visa, insurance, courses."""
    __tablename__ = "partner_factsheets"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("partner_institutions.id", ondelete="CASCADE"),
                                                unique=True)
    nomination_deadline_autumn: Mapped[date | None] = mapped_column(Date)
    nomination_deadline_spring: Mapped[date | None] = mapped_column(Date)
    application_deadline_autumn: Mapped[date | None] = mapped_column(Date)
    application_deadline_spring: Mapped[date | None] = mapped_column(Date)
    language_requirements: Mapped[str | None] = mapped_column(Text)
    other_requirements: Mapped[str | None] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    housing_info: Mapped[str | None] = mapped_column(Text)
    housing_email: Mapped[str | None] = mapped_column(String(254))
    housing_url: Mapped[str | None] = mapped_column(String(300))
    visa_info: Mapped[str | None] = mapped_column(Text)
    visa_email: Mapped[str | None] = mapped_column(String(254))
    insurance_info: Mapped[str | None] = mapped_column(Text)
    insurance_email: Mapped[str | None] = mapped_column(String(254))
    course_catalogue_url: Mapped[str | None] = mapped_column(String(300))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    institution: Mapped[PartnerInstitution] = relationship()
    updated_by: Mapped["User | None"] = relationship()

    #: The editable fields, in form order.
    FIELDS = ("nomination_deadline_autumn", "nomination_deadline_spring", "application_deadline_autumn",
              "application_deadline_spring", "language_requirements", "other_requirements", "contact_email",
              "housing_info", "housing_email", "housing_url", "visa_info", "visa_email", "insurance_info",
              "insurance_email", "course_catalogue_url")

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in self.FIELDS)
