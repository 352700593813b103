"""Who may see which application: scoped queries and named predicates, used by views and templates.

* Students see their own applications only.
* Coordinators and administrators see every application.
* Partner university users see a student's data (the application, its documents, placement letters, the rows
  of their incoming students' pages and CSV, their home panels' counts) only while a live nomination to their
  institution allows it. This is the one rule, :func:`applications_visible_to_partner` (in SQL) and
  :func:`partner_may_see`:
  ``Application.nominated_at`` is set and ``Application.placed_institution_id == user.institution_id`` and
  the application is placed or accepted (so not withdrawn, nor started again after a withdrawal).
  The placements step keeps ``nominated_at`` set exactly while the student holds a live nomination (pending
  or accepted) to that institution: ``services.mark_nominated`` when nominating, ``services.clear_nomination``
  when the nomination is rejected or cancelled or the application withdrawn. Its own pages, which list
  nominations, add that the nomination itself is live (``placements.incoming.nominations_visible_to_partner``).
* Which documents a partner who may see the application may open is asked through
  ``signals.partner_document_access`` (the placements step answers: those the student agreed to share).
  Only when some receiver answers, and every answer allows it; when nothing answers, none of them.

Anything else answers exactly like a missing record (404).
"""
from sqlalchemy import and_, false, select

from .. import signals
from ..auth.models import STAFF, Role
from ..auth.permissions import deny, scoped_first_or_404
from .models import Application, ApplicationDocument, Call
from .workflow import ApplicationStatus

#: Statuses in which a nominated application is visible to the receiving partner.
PARTNER_VISIBLE_STATUSES = (ApplicationStatus.placed, ApplicationStatus.accepted)


def applications_visible_to_partner(institution_id):
    """SQL condition, the partner visibility rule: the application holds a live nomination to `institution_id`
    (a value, or a bound parameter of a statement built once) and is in a status the partner may see. None (no
    institution, or not a partner: ``User.partner_institution_id``) sees nothing."""
    if institution_id is None:
        return false()
    return and_(Application.nominated_at.is_not(None),
                Application.placed_institution_id == institution_id,
                Application.status.in_(PARTNER_VISIBLE_STATUSES))


def partner_may_see(user, application: Application) -> bool:
    """:func:`applications_visible_to_partner` for one application and user."""
    return (user.role is Role.partner and user.institution_id is not None
            and application.nominated_at is not None
            and application.placed_institution_id == user.institution_id
            and application.status in PARTNER_VISIBLE_STATUSES)


def applications_visible_to(user):
    if user.role in STAFF:
        return None
    if user.role is Role.student:
        return Application.student_id == user.id
    if user.role is Role.partner:
        return applications_visible_to_partner(user.partner_institution_id)
    return false()


def applications_for(user):
    """select(Application) narrowed to what the user may see."""
    query = select(Application)
    clause = applications_visible_to(user)
    return query if clause is None else query.where(clause)


def get_application_for(user, application_id: int) -> Application:
    """The application if the user may see it, else abort(404)."""
    return scoped_first_or_404(applications_for(user).where(Application.id == application_id))


def get_call_or_404(call_id: int, *options) -> Call:
    """The one call getter of the pages: the call (a 404, audited, when there is none), loaded with `options`
    (``selectinload(Call.criteria)`` for the pages that show its criteria)."""
    return scoped_first_or_404(select(Call).where(Call.id == call_id).options(*options))


def get_own_application(student, application_id: int) -> Application:
    """A student's own application (404 for anyone else's)."""
    return scoped_first_or_404(select(Application).where(Application.id == application_id,
                                                         Application.student_id == student.id))


def partner_may_see_document(user, application: Application, document: ApplicationDocument) -> bool:
    """The partner may see the application and the receivers of ``signals.partner_document_access`` let them open
    the document: at least one answers and all answers allow it (deny when nothing answers)."""
    if not partner_may_see(user, application):
        return False
    answers = [answer for _receiver, answer in
               signals.partner_document_access.send(document, user=user, application=application)]
    return bool(answers) and all(answers)


def get_document_for(user, application_id: int, document_id: int) -> ApplicationDocument:
    """The document if the user may open it, else abort(404) (audited like every denial)."""
    query = (select(ApplicationDocument).join(ApplicationDocument.application)
             .where(ApplicationDocument.id == document_id, Application.id == application_id))
    clause = applications_visible_to(user)
    if clause is not None:
        query = query.where(clause)
    document = scoped_first_or_404(query)
    if user.role is Role.partner and not partner_may_see_document(user, document.application, document):
        deny(404)
    return document


def can_see_support_needs(user, application: Application) -> bool:
    """Special needs are for the student and the coordinators only, never for partners."""
    if not user or not user.is_authenticated:
        return False
    return user.role in STAFF or (user.role is Role.student and application.student_id == user.id)
