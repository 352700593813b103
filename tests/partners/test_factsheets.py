"""Factsheets: what a partner tells incoming students, one per institution."""
import pytest
from sqlalchemy import func, select

from exchange.auth.models import Role
from exchange.core.errors import WorkflowError
from exchange.partners import factsheets
from exchange.partners.models import PartnerFactsheet


def test_factsheet_is_saved_once_per_institution(db, make_user, make_institution):
    institution = make_institution()
    user = make_user(Role.partner, institution_id=institution.id)
    factsheets.save_factsheet(institution, {"contact_email": " incoming@x.example ", "other_requirements": ""},
                              by=user)
    sheet = factsheets.save_factsheet(institution, {"course_catalogue_url": "https://x.example/courses"}, by=user)
    db.session.commit()
    assert sheet.contact_email == "incoming@x.example" and sheet.other_requirements is None
    assert sheet.course_catalogue_url == "https://x.example/courses" and sheet.updated_by_id == user.id
    with pytest.raises(WorkflowError):
        factsheets.save_factsheet(make_institution(), {"contact_email": "a@b.example"}, by=user)
    with pytest.raises(ValueError):
        factsheets.save_factsheet(institution, {"institution_id": 3}, by=user)
    assert db.session.scalar(select(func.count(PartnerFactsheet.id))) == 1  # the second save changed the first
