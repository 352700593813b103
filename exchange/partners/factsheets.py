"""Factsheets: what a partner tells incoming students (deadlines, requirements, housing, visa, insurance,
courses), one per institution."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..auth.models import Role, User
from ..core import audit
from ..core.errors import WorkflowError
from ..core.i18n import gettext as _
from ..core.types import utcnow
from ..extensions import db
from .models import PartnerFactsheet, PartnerInstitution


def factsheet_of(institution_id: int) -> PartnerFactsheet | None:
    return db.session.scalar(select(PartnerFactsheet).where(PartnerFactsheet.institution_id == institution_id)
                             .options(joinedload(PartnerFactsheet.updated_by)))


def save_factsheet(institution: PartnerInstitution, values: dict, by: User) -> PartnerFactsheet:
    if by.role is Role.partner and by.institution_id != institution.id:
        raise WorkflowError(_("You can only edit your own institution's factsheet."), status=404)
    unknown = set(values) - set(PartnerFactsheet.FIELDS)
    if unknown:
        raise ValueError(f"not factsheet fields: {sorted(unknown)}")
    sheet = factsheet_of(institution.id)
    if sheet is None:
        sheet = PartnerFactsheet(institution_id=institution.id)
        db.session.add(sheet)
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip() or None
        setattr(sheet, name, value)
    sheet.updated_by_id = by.id
    sheet.updated_at = utcnow()
    db.session.flush()
    audit.record("factsheet_updated", user=by, detail=f"institution {institution.id}")
    return sheet

