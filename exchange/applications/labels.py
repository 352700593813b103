"""Translated words for the applications domain: statuses, periods, documents, eligibility reasons."""
from ..core.filters import eqf_levels_filter
from ..core.i18n import format_decimal
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l

from ..core.i18n import language_name
from ..core.reference import isced_label
from .eligibility import Reason, ReasonCode
from .models import CallPeriod, DocumentKind
from .scoring import GpaScale
from .workflow import ApplicationStatus as S

STATUS_LABELS = {
    S.draft: _l("Draft"),
    S.submitted: _l("Submitted"),
    S.under_review: _l("Under review"),
    S.changes_requested: _l("Changes requested"),
    S.eligible: _l("Eligible"),
    S.ineligible: _l("Not eligible"),
    S.placed: _l("Placed"),
    S.waitlisted: _l("Waiting list"),
    S.not_placed: _l("Not placed"),
    S.accepted: _l("Accepted"),
    S.declined: _l("Declined"),
    S.withdrawn: _l("Withdrawn"),
}

#: CSS class of the status badge.
STATUS_BADGES = {
    S.draft: "draft", S.submitted: "info", S.under_review: "info", S.changes_requested: "warn",
    S.eligible: "ok", S.ineligible: "bad", S.placed: "ok", S.waitlisted: "waitlisted",
    S.not_placed: "bad", S.accepted: "accepted", S.declined: "inactive", S.withdrawn: "inactive",
}

#: What happens next, told to the student.
NEXT_STEPS = {
    S.draft: _l("Complete every section and submit before the deadline. You can save and come back at any time."),
    S.submitted: _l("The international office has received your application and will start reviewing it after the deadline."),
    S.under_review: _l("Coordinators are checking your eligibility and scoring your application."),
    S.changes_requested: _l("The office has asked you to change something. Read their message, update your application and submit it again."),
    S.eligible: _l("You meet the requirements. Places are allocated after the review; you will be told the result."),
    S.ineligible: _l("Your application does not meet the requirements of this call. Read the office's message for the reasons."),
    S.placed: _l("You have been offered a place. Accept or decline it."),
    S.waitlisted: _l("You are on the waiting list. If a place becomes free, it may be offered to you."),
    S.not_placed: _l("We could not offer you a place in this call. You may apply to a later call."),
    S.accepted: _l("You have accepted your place. The office will nominate you to the partner university."),
    S.declined: _l("You have declined the place offered to you."),
    S.withdrawn: _l("This application has been withdrawn."),
}

#: The verb on a button that makes the transition.
ACTION_LABELS = {
    S.submitted: _l("Submit"),
    S.under_review: _l("Start review"),
    S.changes_requested: _l("Request changes"),
    S.eligible: _l("Mark eligible"),
    S.ineligible: _l("Mark not eligible"),
    S.placed: _l("Place"),
    S.waitlisted: _l("Put on waiting list"),
    S.not_placed: _l("Mark not placed"),
    S.accepted: _l("Accept the place"),
    S.declined: _l("Decline the place"),
    S.withdrawn: _l("Withdraw"),
}

PERIOD_LABELS = {
    CallPeriod.autumn: _l("Autumn semester"),
    CallPeriod.spring: _l("Spring semester"),
    CallPeriod.full_year: _l("Full academic year"),
}

DOCUMENT_LABELS = {
    DocumentKind.transcript: _l("Transcript of records"),
    DocumentKind.language_certificate: _l("Language certificate"),
    DocumentKind.cv: _l("CV"),
    DocumentKind.motivation_letter: _l("Motivation letter"),
    DocumentKind.id_document: _l("Passport or identity card"),
    DocumentKind.recommendation: _l("Letter of recommendation"),
}

GPA_SCALE_LABELS = {
    GpaScale.scale_4: _l("0–4 (4 is best)"),
    GpaScale.scale_10: _l("0–10 (10 is best)"),
    GpaScale.scale_20: _l("0–20 (20 is best)"),
    GpaScale.scale_100: _l("0–100 (100 is best)"),
    GpaScale.german: _l("1.0–5.0, German style (1.0 is best)"),
}

PHASE_LABELS = {"upcoming": _l("Opens soon"), "open": _l("Open"), "closed": _l("Closed")}


def status_label(status) -> str:
    return str(STATUS_LABELS[S(status)])


def describe_reason(reason: Reason) -> str:
    """One eligibility reason as a sentence in the current language."""
    p = reason.params
    code = reason.code
    if code is ReasonCode.subject_missing:
        return _("Your subject area (ISCED field) is missing.")
    if code is ReasonCode.subject_mismatch:
        return _("Subject area: this place is for %(need)s; your field is %(have)s.",
                 need=isced_label(p["need"]), have=isced_label(p["have"]))
    if code is ReasonCode.level_missing:
        return _("Your study level (EQF) is missing.")
    if code is ReasonCode.level_not_accepted:
        return _("Study level: this place is for %(need)s; you are at EQF %(have)s.",
                 need=eqf_levels_filter(p["need"]), have=p["have"])
    if code is ReasonCode.call_level_not_accepted:
        return _("Study level: this call is for %(need)s; you are at EQF %(have)s.",
                 need=eqf_levels_filter(p["need"]), have=p["have"])
    if code is ReasonCode.language_missing:
        return _("Language: %(language)s at level %(need)s is required; you have not listed %(language)s.",
                 language=language_name(p["language"]), need=p["need"])
    if code is ReasonCode.language_too_low:
        return _("Language: %(language)s at level %(need)s is required; you have %(have)s.",
                 language=language_name(p["language"]), need=p["need"], have=p["have"])
    if code is ReasonCode.gpa_missing:
        return _("Your grade point average is missing.")
    if code is ReasonCode.gpa_too_low:
        return _("Grades: this call needs at least %(need)s out of 10; your average converts to %(have)s.",
                 need=format_decimal(p["need"]), have=format_decimal(p["have"]))
    return str(code.value)  # pragma: no cover


def describe_reasons(reasons) -> list[str]:
    return [describe_reason(reason) for reason in reasons]


class TemplateLabels:
    """Exposed to templates as `application_labels` (registered by the blueprint)."""
    status = STATUS_LABELS
    badge = STATUS_BADGES
    next_steps = NEXT_STEPS
    action = ACTION_LABELS
    period = PERIOD_LABELS
    document = DOCUMENT_LABELS
    gpa_scale = GPA_SCALE_LABELS
    phase = PHASE_LABELS
