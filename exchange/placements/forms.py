"""Forms of the placements domain: publishing, manual moves, answers to offers, nominations, factsheets."""

from ..core.i18n import lazy_gettext as _l
from wtforms import BooleanField, DateField, DateTimeLocalField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, URL, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..applications.labels import DOCUMENT_LABELS
from ..auth.forms import REQUIRED
from ..core.forms import AppForm, LooseSelectField, NoControlCharacters, email_field, strip_filter
from ..core.reference import academic_year_label
from .labels import PARTNER_STATUS
from .models import REASON_MAX


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def reason_field(label, required=True, description=None):
    validators = [Length(max=REASON_MAX, message=_l("Use at most %(max)d characters.", max=REASON_MAX)),
                  NoControlCharacters()]
    validators.insert(0, DataRequired(message=REQUIRED) if required else Optional())
    return TextAreaField(label, filters=[strip_filter], validators=validators, description=description,
                         render_kw={"maxlength": REASON_MAX, "rows": 3})


class PublishForm(AppForm):
    deadline = DateTimeLocalField(_l("Students answer by"), format="%Y-%m-%dT%H:%M",
                                  validators=[InputRequired(message=REQUIRED)],
                                  description=_l("In your time zone. Offers not answered by then expire and "
                                                 "their seats go to the next round."))


class MoveForm(AppForm):
    place = LooseSelectField(_l("Move to"))
    reason = reason_field(_l("Why"), description=_l("Kept with the run and shown to other coordinators."))
    confirm = BooleanField(_l("I have read the warnings and want to make this change"))

    def __init__(self, *args, places=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.place.choices = [("none", _l("No place (take the student out)"))] + list(places)

    def validate_place(self, field):
        if not field.data:
            raise ValidationError(REQUIRED)


def document_choices(application):
    return [(d.kind.value, f"{DOCUMENT_LABELS[d.kind]} ({d.original_name})") for d in application.documents]


class RespondForm(AppForm):
    documents = MultiCheckboxField(_l("Documents the partner university may see"),
                                   description=_l("Only what you tick is sent with your nomination. You can "
                                                  "change this later on this page."))

    def __init__(self, *args, application=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.documents.choices = document_choices(application) if application is not None else []


class SharingForm(RespondForm):
    pass


class NominateForm(AppForm):
    planned_arrival = DateField(_l("Planned arrival"), validators=[InputRequired(message=REQUIRED)])
    planned_departure = DateField(_l("Planned departure"), validators=[InputRequired(message=REQUIRED)])

    def validate_planned_departure(self, field):
        if self.planned_arrival.data and field.data and field.data <= self.planned_arrival.data:
            raise ValidationError(_l("The departure must be after the arrival."))


class CancelNominationForm(AppForm):
    reason = reason_field(_l("Why is the nomination cancelled?"))


class RejectForm(AppForm):
    reason = reason_field(_l("Reason for rejecting"),
                          description=_l("Sent to the student and to the sending coordinator."))


class IncomingFilterForm(AppForm):
    class Meta:
        csrf = False

    year = LooseSelectField(_l("Academic year"), validators=[Optional()])
    status = LooseSelectField(_l("Status"), validators=[Optional()])

    def __init__(self, *args, years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.year.choices = [("", _l("All years"))] + [(str(y), academic_year_label(y)) for y in years]
        self.status.choices = [("", _l("All statuses"))] + [(s.value, label) for s, label in PARTNER_STATUS.items()]


class WebAddress:
    """http(s) only: the address becomes a link."""

    def __call__(self, form, field):
        if field.data and not field.data.lower().startswith(("https://", "http://")):
            raise ValidationError(_l("Enter a full web address, starting with https://."))


def _url(label):
    return StringField(label, filters=[strip_filter], validators=[
        Optional(), Length(max=300, message=_l("Use at most %(max)d characters.", max=300)), NoControlCharacters(),
        URL(message=_l("Enter a full web address, starting with https://.")), WebAddress()],
        render_kw={"inputmode": "url", "placeholder": "https://"})


def _text(label, description=None):
    return TextAreaField(label, filters=[strip_filter], description=description, validators=[
        Optional(), Length(max=3000, message=_l("Use at most %(max)d characters.", max=3000)),
        NoControlCharacters()], render_kw={"maxlength": 3000, "rows": 4})


class FactsheetForm(AppForm):
    nomination_deadline_autumn = DateField(_l("Nominations: autumn or full year"),
                                           validators=[Optional()])
    nomination_deadline_spring = DateField(_l("Nominations: spring"), validators=[Optional()])
    application_deadline_autumn = DateField(_l("Applications: autumn or full year"),
                                            validators=[Optional()])
    application_deadline_spring = DateField(_l("Applications: spring"), validators=[Optional()])
    language_requirements = _text(_l("Language requirements"),
                                  _l("Levels expected, certificates accepted, language of instruction."))
    other_requirements = _text(_l("Other requirements"))
    contact_email = email_field(_l("Incoming students office email"), validators=[Optional()])
    housing_info = _text(_l("Housing information"))
    housing_email = email_field(_l("Housing contact email"), validators=[Optional()])
    housing_url = _url(_l("Housing web page"))
    visa_info = _text(_l("Visa information"))
    visa_email = email_field(_l("Visa contact email"), validators=[Optional()])
    insurance_info = _text(_l("Insurance information"))
    insurance_email = email_field(_l("Insurance contact email"), validators=[Optional()])
    course_catalogue_url = _url(_l("Course catalogue"))

    def validate_nomination_deadline_spring(self, field):
        self._check_year(field)

    def validate_nomination_deadline_autumn(self, field):
        self._check_year(field)

    def validate_application_deadline_autumn(self, field):
        self._check_year(field)

    def validate_application_deadline_spring(self, field):
        self._check_year(field)

    @staticmethod
    def _check_year(field):
        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError(_l("Enter a date between 2000 and 2100."))

    def values(self) -> dict:
        return {name: self[name].data for name in self._fields if name != "csrf_token"}
