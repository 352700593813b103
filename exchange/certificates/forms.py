from flask import current_app
from ..core.i18n import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, DecimalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..core.forms import AppForm, CountryCode, LooseSelectField, NoControlCharacters, optional_text, strip_filter
from ..core.i18n import LANGUAGE_NAMES
from ..core.numbers import whole_number
from ..core.reference import country_choices
from .models import REVOCATION_REASON_MAX, CertificateKind


def language_choices(blank=None):
    choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]]
    return ([("", blank)] if blank else []) + choices


def reason_field(label):
    return TextAreaField(label, filters=[strip_filter], validators=[
        DataRequired(message=_l("Please say why.")),
        Length(max=REVOCATION_REASON_MAX, message=_l("Use at most %(max)d characters.", max=REVOCATION_REASON_MAX)),
        NoControlCharacters()], render_kw={"maxlength": REVOCATION_REASON_MAX, "rows": 3})


class RevokeForm(AppForm):
    reason = reason_field(_l("Reason (kept in the records, not shown on the public verification page)"))


class ReissueForm(AppForm):
    reason = reason_field(_l("Why is it reissued?"))
    language = LooseSelectField(_l("Language of the new certificate"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices()


class IssueForm(AppForm):
    kind = HiddenField(validators=[InputRequired()])
    subject_id = HiddenField(validators=[InputRequired()])
    language = LooseSelectField(_l("Language"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices(blank=_l("The recipient's language"))

    def validate_kind(self, field):
        if field.data not in {k.value for k in CertificateKind}:
            raise ValidationError(_l("Unknown kind of certificate."))

    def validate_subject_id(self, field):
        if whole_number(field.data) is None:
            raise ValidationError(_l("Unknown subject."))


class BulkIssueForm(AppForm):
    kind = HiddenField(default=CertificateKind.participation.value)
    notify = BooleanField(_l("Tell the recipients of new certificates by e-mail"), default=True)

    def validate_kind(self, field):
        if field.data not in {k.value for k in CertificateKind}:
            raise ValidationError(_l("Unknown kind of certificate."))


class CompletionForm(AppForm):
    started_on = DateField(_l("First day of the exchange"), validators=[
        InputRequired(message=_l("Enter the first day of the exchange."))])
    ended_on = DateField(_l("Last day of the exchange"), validators=[
        InputRequired(message=_l("Enter the last day of the exchange."))])
    ects_credits = DecimalField(_l("ECTS credits earned (optional)"), places=1, validators=[
        Optional(), NumberRange(min=0, max=120, message=_l("Enter between 0 and 120 credits."))],
        render_kw={"step": "0.5", "min": "0", "max": "120", "inputmode": "decimal"},
        description=_l("As on the transcript of records from the host institution."))

    def validate_ended_on(self, field):
        if self.started_on.data and field.data and field.data < self.started_on.data:
            raise ValidationError(_l("The exchange cannot end before it starts."))


class SettingsForm(AppForm):
    institution_name = StringField(_l("Name of the institution"), filters=[strip_filter], validators=[
        DataRequired(message=_l("Enter the name of the institution.")),
        Length(max=200, message=_l("Use at most %(max)d characters.", max=200)), NoControlCharacters()])
    city = optional_text(120, _l("City"))
    country = LooseSelectField(_l("Country"), validators=[DataRequired(message=_l("Choose a country.")),
                                                         CountryCode()])
    signatory_name = optional_text(120, _l("Name of the signatory"),
                                   description=_l("Printed under the signature, e.g. Dr. Elena Ruiz."))
    signatory_title = optional_text(120, _l("Title of the signatory"),
                                    description=_l("e.g. Vice-Rector for International Relations."))
    logo = FileField(_l("Logo (PNG or JPEG)"), render_kw={"accept": "image/png,image/jpeg"},
                     description=_l("Printed at the top of every certificate. A PNG with a transparent background looks best."))
    remove_logo = BooleanField(_l("Remove the logo"))
    signature = FileField(_l("Scanned signature (PNG or JPEG)"), render_kw={"accept": "image/png,image/jpeg"},
                          description=_l("Printed above the signatory's name. Scan it on white paper, cropped close."))
    remove_signature = BooleanField(_l("Remove the signature"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", "")] + country_choices()


class FilterForm(AppForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[strip_filter], validators=[Optional(), Length(max=100)],
                    render_kw={"placeholder": _l("Name, number or title")})
    kind = SelectField(_l("Kind"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _l("All kinds"))] + [(k.value, k.label) for k in CertificateKind]
        self.status.choices = [("", _l("Valid and revoked")), ("valid", _l("Valid")), ("revoked", _l("Revoked"))]
