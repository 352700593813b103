from ..core.i18n import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Optional

from ..auth.forms import REQUIRED, name_field
from ..auth.models import Role
from ..core.forms import AppForm, LooseSelectField, email_field


def role_choices(include_student: bool = True):
    roles = list(Role) if include_student else [r for r in Role if r is not Role.student]
    return [(r.value, r.label) for r in roles]


class _InstitutionMixin:
    """A partner user must belong to an institution (checked after the fields, as Optional stops the chain)."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.role.data == Role.partner.value and not self.institution_id.data:
            self.institution_id.errors = list(self.institution_id.errors) + [
                _l("Choose the partner institution this user belongs to.")]
            return False
        return valid


class InviteUserForm(_InstitutionMixin, AppForm):
    name = name_field()
    email = email_field(validators=[DataRequired(message=REQUIRED)])
    role = SelectField(_l("Role"), validators=[DataRequired(message=REQUIRED)])
    institution_id = LooseSelectField(_l("Partner institution"), coerce=lambda v: int(v) if v else None,
                                 validators=[Optional()],
                                 description=_l("Only for partner university users."))
    submit = SubmitField(_l("Send invitation"))

    def __init__(self, *args, institutions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(include_student=False)
        self.institution_id.choices = [("", _l("— none —"))] + list(institutions)


class EditUserForm(_InstitutionMixin, AppForm):
    role = SelectField(_l("Role"), validators=[DataRequired(message=REQUIRED)])
    institution_id = LooseSelectField(_l("Partner institution"), coerce=lambda v: int(v) if v else None,
                                 validators=[Optional()])
    submit = SubmitField(_l("Save changes"))

    def __init__(self, *args, institutions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()
        self.institution_id.choices = [("", _l("— none —"))] + list(institutions)


class UserFilterForm(AppForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional()])
    role = SelectField(_l("Role"), validators=[Optional()])
    active_only = BooleanField(_l("Active only"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [("", _l("All roles"))] + role_choices()
