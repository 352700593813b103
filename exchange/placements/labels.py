"""Translated words for placements: statuses (two-sided for nominations), reasons and warnings."""
from ..core.i18n import format_decimal
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from ..core.i18n import lazy_pgettext
from ..core.i18n import ngettext

from .models import NominationStatus, OfferStatus, RunStatus, UnplacedReason

RUN_STATUS = {
    RunStatus.draft: _l("Draft"),
    RunStatus.published: lazy_pgettext("matching run", "Published"),
    RunStatus.superseded: _l("Not published"),
}
RUN_BADGE = {RunStatus.draft: "warn", RunStatus.published: "ok", RunStatus.superseded: "inactive"}

OFFER_STATUS = {
    OfferStatus.offered: _l("Waiting for an answer"),
    OfferStatus.accepted: _l("Accepted"),
    OfferStatus.declined: _l("Declined"),
    OfferStatus.expired: lazy_pgettext("offer", "Expired"),
    OfferStatus.withdrawn: _l("Withdrawn"),
}
OFFER_BADGE = {OfferStatus.offered: "pending", OfferStatus.accepted: "accepted", OfferStatus.declined: "inactive",
               OfferStatus.expired: "expired", OfferStatus.withdrawn: "inactive"}

#: What the sending side (coordinators, the student) sees.
NOMINATION_STATUS = {
    NominationStatus.nominated: _l("Nominated"),
    NominationStatus.accepted: _l("Accepted by partner"),
    NominationStatus.rejected: _l("Rejected by partner"),
    NominationStatus.cancelled: lazy_pgettext("nomination", "Cancelled"),
}
#: What the receiving partner sees: live nominations only (a rejected or cancelled one is gone for them).
PARTNER_STATUS = {
    NominationStatus.nominated: _l("Pending"),
    NominationStatus.accepted: _l("Accepted"),
}
NOMINATION_BADGE = {NominationStatus.nominated: "pending", NominationStatus.accepted: "accepted",
                    NominationStatus.rejected: "rejected", NominationStatus.cancelled: "cancelled"}

UNPLACED_REASON = {
    UnplacedReason.full: _l("Every eligible choice was filled by students ranked higher"),
    UnplacedReason.no_eligible_choice: _l("None of the chosen destinations can take this student"),
    UnplacedReason.adjusted: _l("Moved out of their place by a coordinator"),
}


def _names(params: dict) -> str:
    names = ", ".join(params.get("names", []))
    if params.get("more"):
        return _("%(names)s and %(n)s more", names=names, n=params["more"])
    return names


def warning_text(warning: dict) -> str:
    """One warning of a manual adjustment as a sentence in the current language."""
    p = warning.get("params", {})
    code = warning.get("code")
    if code == "over_capacity":
        return ngettext("%(place)s would have %(filled)s students for %(num)s seat.",
                        "%(place)s would have %(filled)s students for %(num)s seats.", p.get("seats", 0),
                        place=p.get("place"), filled=p.get("filled"))
    if code == "unfair":
        return _("Unfair: %(names)s ranked higher at %(place)s, wanted it more than what they got, and would be "
                 "left out.", names=_names(p), place=p.get("place"))
    if code == "seat_left_free":
        return _("A seat at %(place)s would be left free while %(names)s wanted it and got a later choice or "
                 "nothing.", place=p.get("place"), names=_names(p))
    if code == "not_chosen":
        return _("%(place)s is not among the student's choices.", place=p.get("place"))
    if code == "not_eligible":
        return _("The student does not meet the conditions of %(place)s.", place=p.get("place"))
    return str(code)


def score_text(score) -> str:
    return format_decimal(score, "0.00") if score is not None else _("not scored")


class TemplateLabels:
    """Exposed to templates as `placement_labels`."""
    run_status = RUN_STATUS
    run_badge = RUN_BADGE
    offer_status = OFFER_STATUS
    offer_badge = OFFER_BADGE
    nomination_status = NOMINATION_STATUS
    partner_status = PARTNER_STATUS
    nomination_badge = NOMINATION_BADGE
    unplaced_reason = UNPLACED_REASON
    warning = staticmethod(warning_text)
    score = staticmethod(score_text)
