"""Loading applications with the collections a page shows, cheaply.

Each collection of the given applications is read by one plain statement of its entities, with the small
parents it needs in the same rows (a choice's place, condition, agreement and partner; a review's reviewer and
scores), and then set as loaded with ``set_committed_value``: what ``selectinload`` does, without loader
options, whose cache keys (built and hashed on every request) cost more than the statements themselves on
pages that show one or a few applications. Collections are ordered as their relationships are, so the objects
read exactly as if lazily loaded; the many-to-one links set here are the same objects the session holds.
The review page reads all its collections in one such statement (load_collections), and what it only shows (the
history, the comments, the staff who may review) as plain rows (review_rows).

The statements are built once per process (``functools.cache``) with the ids as a bound parameter: building a
statement and its cache key costs more than running it for a page of one application.
"""
from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Boolean, String, and_, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm.attributes import set_committed_value

from ..auth.models import STAFF, User
from ..extensions import db
from ..partners.models import Agreement, CooperationCondition, LanguageRequirement, PartnerInstitution
from .models import (Application, ApplicationChoice, ApplicationComment, ApplicationDocument, Call, CallPlace,
                     LanguageSkill, Review, ReviewScore, ScoringCriterion, StatusChange, join_partner)
from .workflow import Actor, ApplicationStatus


#: The application ids of a collection's statement (an expanding IN, so one statement serves any number).
_IDS = bindparam("ids", expanding=True)


@cache
def _application_with_criteria():
    return (select(Application, Call, User, ScoringCriterion).join(Call, Application.call_id == Call.id)
            .join(User, Application.student_id == User.id)
            .outerjoin(ScoringCriterion, ScoringCriterion.call_id == Call.id)
            .where(Application.id == bindparam("application_id"))
            .order_by(ScoringCriterion.position, ScoringCriterion.id))


def application_with_criteria(application_id: int) -> Application | None:
    """The application with its call, the call's scoring criteria and the student, in one statement."""
    rows = db.session.execute(_application_with_criteria(), {"application_id": application_id}).all()
    if not rows:
        return None
    application, call, student, _criterion = rows[0]
    set_committed_value(application, "call", call)
    set_committed_value(application, "student", student)
    set_committed_value(call, "criteria", [criterion for *_parents, criterion in rows if criterion is not None])
    return application


def _set_children(applications, key: str, children, application_id) -> None:
    """Set `key` of each application to its children (already in order), [] for those without."""
    found: dict[int, list] = {application.id: [] for application in applications}
    for child in children:
        found[application_id(child)].append(child)
    for application in applications:
        set_committed_value(application, key, found[application.id])


def _ids(applications) -> dict[str, list[int]]:
    return {"ids": [application.id for application in applications]}


@cache
def _languages():
    return select(LanguageSkill).where(LanguageSkill.application_id.in_(_IDS)).order_by(LanguageSkill.id)


def load_languages(applications: list[Application]) -> None:
    _set_children(applications, "languages", db.session.scalars(_languages(), _ids(applications)),
                  lambda skill: skill.application_id)


@cache
def _documents():
    return (select(ApplicationDocument).where(ApplicationDocument.application_id.in_(_IDS))
            .order_by(ApplicationDocument.id))


def load_documents(applications: list[Application]) -> None:
    _set_children(applications, "documents", db.session.scalars(_documents(), _ids(applications)),
                  lambda document: document.application_id)


@cache
def _choices(requirements: bool):
    entities = [ApplicationChoice, CallPlace, CooperationCondition, Agreement, PartnerInstitution]
    if requirements:
        entities.append(LanguageRequirement)
    query = (join_partner(select(*entities), ApplicationChoice.place_id)
             .where(ApplicationChoice.application_id.in_(_IDS))
             .order_by(ApplicationChoice.application_id, ApplicationChoice.rank))
    if requirements:
        query = (query.outerjoin(LanguageRequirement, LanguageRequirement.condition_id == CooperationCondition.id)
                 .order_by(LanguageRequirement.id))
    return query


def load_choices(applications: list[Application], requirements: bool = True) -> None:
    """The ranked choices, each with its place → condition → agreement → partner, and with `requirements` the
    condition's language requirements (without, they are loaded when first read)."""
    rows = db.session.execute(_choices(requirements), _ids(applications))
    _set_choices(applications, rows if requirements else ((*row, None) for row in rows), requirements)


def _set_choices(applications, rows, requirements: bool) -> None:
    """Set the choices from (choice, place, condition, agreement, partner, requirement or None) rows."""
    choices: list[ApplicationChoice] = []
    found: dict[CooperationCondition, list[LanguageRequirement]] = {}
    for choice, place, condition, agreement, partner, requirement in rows:
        if not choices or choices[-1] is not choice:
            choices.append(choice)
            set_committed_value(choice, "place", place)
            set_committed_value(place, "condition", condition)
            set_committed_value(condition, "agreement", agreement)
            set_committed_value(agreement, "partner", partner)
        if requirements:
            languages = found.setdefault(condition, [])
            if requirement is not None and requirement not in languages:  # a condition of several calls
                languages.append(requirement)
    for condition, languages in found.items():
        set_committed_value(condition, "languages", languages)
    _set_children(applications, "choices", choices, lambda choice: choice.application_id)


# --- What the review page only shows, as plain rows: the timeline, the comments and who may review ---------------

def may_review():
    """The users who may be assigned as reviewers: active coordinators and administrators. The roles are written
    into the statement (not bound): PostgreSQL then knows they are a few of 50,000 users, and can keep one plan."""
    return and_(User.role.in_(bindparam("staff_roles", list(STAFF), expanding=True, literal_execute=True)),
                User.is_active_account.is_(True))


class Person(NamedTuple):
    """Who made a change or wrote a comment, as the pages show them."""
    name: str


class ChangeRow(NamedTuple):
    """A status change as the timeline shows it (the attributes it reads of a StatusChange)."""
    to_status: ApplicationStatus
    actor: Actor
    at: datetime
    comment: str | None
    by: Person | None


class CommentRow(NamedTuple):
    """A comment as the review page shows it (the attributes it reads of an ApplicationComment)."""
    created_at: datetime
    is_internal: bool
    body: str
    author: Person | None


class StaffRow(NamedTuple):
    """A user who may review (as services.staff_users gives them)."""
    id: int
    name: str


@cache
def _review_rows():
    application_id = bindparam("application_id")
    history = (select(literal(0, literal_execute=True).label("kind"), StatusChange.id.label("id"), StatusChange.at.label("at"),
                      StatusChange.to_status.label("to_status"), StatusChange.actor.label("actor"),
                      cast(null(), Boolean).label("is_internal"), StatusChange.comment.label("text"),
                      User.name.label("name"), cast(null(), String).label("staff_name"))
               .outerjoin(User, StatusChange.by_id == User.id).where(StatusChange.application_id == application_id))
    comments = (select(literal(1, literal_execute=True), ApplicationComment.id, ApplicationComment.created_at, null(), null(),
                       ApplicationComment.is_internal, ApplicationComment.body, User.name, null())
                .outerjoin(User, ApplicationComment.author_id == User.id)
                .where(ApplicationComment.application_id == application_id))
    staff = (select(literal(2, literal_execute=True), User.id, null(), null(), null(), null(), null(), User.name, User.name)
             .where(may_review()))
    rows = union_all(history, comments, staff)
    columns = rows.selected_columns
    # The changes and the comments by time (ties by id, as their relationships), the staff by name.
    return rows.order_by(columns.kind, columns.at, columns.staff_name, columns.id)


def review_rows(application_id: int) -> tuple[list[ChangeRow], list[CommentRow], list[StaffRow]]:
    """The application's status changes and comments (each by time) and the users who may review (by name), in
    one statement of plain rows, for the review page, which only shows them."""
    history: list[ChangeRow] = []
    comments: list[CommentRow] = []
    staff: list[StaffRow] = []
    for kind, id_, at, to_status, actor, is_internal, text, name, _staff_name in db.session.execute(
            _review_rows(), {"application_id": application_id}):
        if kind == 0:
            history.append(ChangeRow(to_status, actor, at, text, Person(name) if name is not None else None))
        elif kind == 1:
            comments.append(CommentRow(at, is_internal, text, Person(name) if name is not None else None))
        else:
            staff.append(StaffRow(id_, name))
    return history, comments, staff


# --- The collections of one page's applications in one statement ----------------------------------------------

@cache
def _collections():
    # One row per part (0 languages, 1 documents, 2 reviews, 3 choices), each outer-joined with its own collection
    # only: the collections come back one after the other, without multiplying each other's rows.
    parts = union_all(*(select(literal(part, literal_execute=True).label("part")) for part in range(4))).subquery("parts")
    return (select(parts.c.part, LanguageSkill, ApplicationDocument, Review, User, ReviewScore,
                   ApplicationChoice, CallPlace, CooperationCondition, Agreement, PartnerInstitution,
                   LanguageRequirement).select_from(parts)
            .outerjoin(LanguageSkill, and_(parts.c.part == 0, LanguageSkill.application_id.in_(_IDS)))
            .outerjoin(ApplicationDocument, and_(parts.c.part == 1, ApplicationDocument.application_id.in_(_IDS)))
            .outerjoin(Review, and_(parts.c.part == 2, Review.application_id.in_(_IDS)))
            .outerjoin(User, Review.reviewer_id == User.id)
            .outerjoin(ReviewScore, ReviewScore.review_id == Review.id)
            .outerjoin(ApplicationChoice, and_(parts.c.part == 3, ApplicationChoice.application_id.in_(_IDS)))
            .outerjoin(CallPlace, ApplicationChoice.place_id == CallPlace.id)
            .outerjoin(CooperationCondition, CallPlace.condition_id == CooperationCondition.id)
            .outerjoin(Agreement, CooperationCondition.agreement_id == Agreement.id)
            .outerjoin(PartnerInstitution, Agreement.partner_id == PartnerInstitution.id)
            .outerjoin(LanguageRequirement, LanguageRequirement.condition_id == CooperationCondition.id)
            .order_by(parts.c.part, LanguageSkill.id, ApplicationDocument.id, Review.id, ReviewScore.id,
                      ApplicationChoice.application_id, ApplicationChoice.rank, LanguageRequirement.id))


def load_collections(applications: list[Application]) -> None:
    """load_languages, load_documents and load_choices (with the requirements), and the reviews, each with its
    reviewer and scores, in one statement."""
    languages, documents, choice_rows = [], [], []
    scores: dict[Review, list[ReviewScore]] = {}
    for _part, skill, document, review, reviewer, score, *choice_row in db.session.execute(
            _collections(), _ids(applications)):
        if skill is not None:
            languages.append(skill)
        elif document is not None:
            documents.append(document)
        elif review is not None:
            if review not in scores:
                scores[review] = []
                set_committed_value(review, "reviewer", reviewer)
            if score is not None:
                scores[review].append(score)
        elif choice_row[0] is not None:
            choice_rows.append(choice_row)
    for review, found in scores.items():
        set_committed_value(review, "scores", found)
    _set_children(applications, "languages", languages, lambda skill: skill.application_id)
    _set_children(applications, "documents", documents, lambda document: document.application_id)
    _set_children(applications, "reviews", scores, lambda review: review.application_id)
    _set_choices(applications, choice_rows, requirements=True)
