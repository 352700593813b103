"""Loading applications with the collections a page shows, cheaply.

Each collection of the given applications is read by one plain statement of its entities, with the small
parents it needs in the same rows (a choice's place, condition, agreement and partner; a review's reviewer and
scores), and then set as loaded with ``set_committed_value``: what ``selectinload`` does, without loader
options, whose cache keys (built and hashed on every request) cost more than the statements themselves on
pages that show one or a few applications. Collections are ordered as their relationships are, so the objects
read exactly as if lazily loaded; the many-to-one links set here are the same objects the session holds.

The statements are built once per process (``functools.cache``) with the ids as a bound parameter: building a
statement and its cache key costs more than running it for a page of one application.
"""
from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from ..auth.models import User
from ..extensions import db
from ..partners.models import Agreement, CooperationCondition, LanguageRequirement, PartnerInstitution
from .models import (Application, ApplicationChoice, ApplicationComment, ApplicationDocument, Call, CallPlace,
                     LanguageSkill, Review, ReviewScore, ScoringCriterion, StatusChange)


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
    query = (select(*entities).join(CallPlace, ApplicationChoice.place_id == CallPlace.id)
             .join(CooperationCondition, CallPlace.condition_id == CooperationCondition.id)
             .join(Agreement, CooperationCondition.agreement_id == Agreement.id)
             .join(PartnerInstitution, Agreement.partner_id == PartnerInstitution.id)
             .where(ApplicationChoice.application_id.in_(_IDS))
             .order_by(ApplicationChoice.application_id, ApplicationChoice.rank))
    if requirements:
        query = (query.outerjoin(LanguageRequirement, LanguageRequirement.condition_id == CooperationCondition.id)
                 .order_by(LanguageRequirement.id))
    return query


def load_choices(applications: list[Application], requirements: bool = True) -> None:
    """The ranked choices, each with its place → condition → agreement → partner, and with `requirements` the
    condition's language requirements (without, they are loaded when first read)."""
    choices: list[ApplicationChoice] = []
    found: dict[CooperationCondition, list[LanguageRequirement]] = {}
    for choice, place, condition, agreement, partner, *requirement in db.session.execute(
            _choices(requirements), _ids(applications)):
        if not choices or choices[-1] is not choice:
            choices.append(choice)
            set_committed_value(choice, "place", place)
            set_committed_value(place, "condition", condition)
            set_committed_value(condition, "agreement", agreement)
            set_committed_value(agreement, "partner", partner)
        if requirements:
            languages = found.setdefault(condition, [])
            if requirement[0] is not None and requirement[0] not in languages:  # a condition of several calls
                languages.append(requirement[0])
    for condition, languages in found.items():
        set_committed_value(condition, "languages", languages)
    _set_children(applications, "choices", choices, lambda choice: choice.application_id)


@cache
def _reviews():
    return (select(Review, User, ReviewScore).join(User, Review.reviewer_id == User.id)
            .outerjoin(ReviewScore, ReviewScore.review_id == Review.id)
            .where(Review.application_id.in_(_IDS)).order_by(Review.id, ReviewScore.id))


def load_reviews(applications: list[Application]) -> None:
    """The reviews, each with its reviewer and scores."""
    scores: dict[Review, list[ReviewScore]] = {}
    for review, reviewer, score in db.session.execute(_reviews(), _ids(applications)):
        if review not in scores:
            scores[review] = []
            set_committed_value(review, "reviewer", reviewer)
        if score is not None:
            scores[review].append(score)
    for review, found in scores.items():
        set_committed_value(review, "scores", found)
    _set_children(applications, "reviews", scores, lambda review: review.application_id)


@cache
def _history():
    return (select(StatusChange, User).outerjoin(User, StatusChange.by_id == User.id)
            .where(StatusChange.application_id.in_(_IDS)).order_by(StatusChange.at, StatusChange.id))


def load_history(applications: list[Application]) -> None:
    """The status changes, each with who made it (or None)."""
    changes = []
    for change, by in db.session.execute(_history(), _ids(applications)):
        set_committed_value(change, "by", by)
        changes.append(change)
    _set_children(applications, "history", changes, lambda change: change.application_id)


@cache
def _comments():
    return (select(ApplicationComment, User).outerjoin(User, ApplicationComment.author_id == User.id)
            .where(ApplicationComment.application_id.in_(_IDS))
            .order_by(ApplicationComment.created_at, ApplicationComment.id))


def load_comments(applications: list[Application]) -> None:
    """The comments, each with its author (or None)."""
    comments = []
    for comment, author in db.session.execute(_comments(), _ids(applications)):
        set_committed_value(comment, "author", author)
        comments.append(comment)
    _set_children(applications, "comments", comments, lambda comment: comment.application_id)
