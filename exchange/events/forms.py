"""Forms of the cultural programme. Forms check fields; the services decide (and check again)."""
from urllib.parse import urlsplit

from ..core.i18n import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..auth.forms import REQUIRED
from ..core.forms import (AppForm, CountryCode, FastSelect, LooseSelectField, NoControlCharacters, optional_text,
                          strip_filter)
from .models import AUDIENCE_LABELS, CATEGORY_LABELS, QuestionKind
from .services import MAX_REASON_LENGTH

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
MAX_DESCRIPTION = 20_000


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not in any list: the select refuses it


def datetime_field(label, required=False, **kwargs):
    # InputRequired (not DataRequired): a date typed in a wrong format keeps its "not a valid date" message.
    validators = [InputRequired(message=REQUIRED)] if required else [Optional()]
    return DateTimeLocalField(label, format=DATETIME_FORMATS, validators=validators, **kwargs)


class HttpUrl:
    def __call__(self, form, field):
        if not field.data:
            return
        parts = urlsplit(field.data)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in field.data:
            raise ValidationError(_l("Enter a full web address starting with https://"))


class EventForm(AppForm):
    title = StringField(_l("Title"), filters=[strip_filter], validators=[
        DataRequired(message=REQUIRED), Length(max=200, message=_l("Use at most %(max)d characters.", max=200)),
        NoControlCharacters()])
    description = TextAreaField(
        _l("Description"), filters=[strip_filter],
        validators=[Optional(), Length(max=MAX_DESCRIPTION, message=_l("Use at most %(max)d characters.",
                                                                        max=MAX_DESCRIPTION))],
        description=_l("Markdown: **bold**, *italic*, lists with -, links as [text](https://…). HTML is shown as text."),
        render_kw={"rows": 10, "maxlength": MAX_DESCRIPTION})
    category = SelectField(_l("Category"), choices=list(CATEGORY_LABELS.items()),
                           validators=[DataRequired(message=REQUIRED)])
    starts_at = datetime_field(_l("Starts"), required=True)
    ends_at = datetime_field(_l("Ends"), required=True)
    venue = optional_text(200, _l("Venue"), description=_l("A room and building, or a meeting point."))
    online_url = StringField(_l("Online link"), filters=[strip_filter], validators=[
        Optional(), Length(max=500, message=_l("Use at most %(max)d characters.", max=500)), HttpUrl()],
        render_kw={"inputmode": "url", "placeholder": "https://"})
    capacity = IntegerField(_l("Capacity"), validators=[
        Optional(), NumberRange(min=1, max=100_000, message=_l("Enter a number from 1 to 100000."))],
        description=_l("Leave empty for unlimited places."), render_kw={"min": 1, "inputmode": "numeric"})
    registration_opens_at = datetime_field(_l("Registration opens"),
                                           description=_l("Empty: as soon as the event is published."))
    registration_closes_at = datetime_field(_l("Registration closes"),
                                            description=_l("Empty: when the event starts. Cancelling is possible until then too."))
    audience = SelectField(_l("Who may come"), choices=list(AUDIENCE_LABELS.items()),
                           validators=[DataRequired(message=REQUIRED)])
    call_id = LooseSelectField(_l("Call"), coerce=_int_or_none, validators=[Optional()],
                               description=_l("Only when the audience is the exchange students of a call."))
    partner_institution_id = LooseSelectField(_l("Partner institution it celebrates"), coerce=_int_or_none,
                                              validators=[Optional()])
    country = LooseSelectField(_l("Country it celebrates"), validators=[Optional(), CountryCode()])
    cover = FileField(_l("Cover image"), description=_l("Optional. A JPEG or PNG image, at most 10 MB."),
                      render_kw={"accept": "image/jpeg,image/png"})
    remove_cover = BooleanField(_l("Remove the current cover image"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, calls=(), institutions=(), countries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.call_id.choices = [("", _l("— none —"))] + list(calls)
        self.partner_institution_id.choices = [("", _l("— none —"))] + list(institutions)
        self.country.choices = [("", _l("— none —"))] + list(countries)

    def validate_ends_at(self, field):
        if field.data and self.starts_at.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must be after the start."))

    def validate_registration_closes_at(self, field):
        opens = self.registration_opens_at.data
        if field.data and opens and field.data <= opens:
            raise ValidationError(_l("Registration must close after it opens."))

    def validate_venue(self, field):
        if not field.data and not self.online_url.data:
            raise ValidationError(_l("Give a venue, an online link, or both."))

    def validate_call_id(self, field):
        if self.audience.data == "call" and not field.data:
            raise ValidationError(_l("Choose the call whose exchange students are invited."))


class QuestionForm(AppForm):
    label = StringField(_l("Question"), filters=[strip_filter], validators=[
        DataRequired(message=REQUIRED), Length(max=200, message=_l("Use at most %(max)d characters.", max=200)),
        NoControlCharacters()], render_kw={"placeholder": _l("e.g. Dietary needs")})
    kind = SelectField(_l("Answer"), choices=[],
                       validators=[DataRequired(message=REQUIRED)])
    options = TextAreaField(_l("Options"), filters=[strip_filter], validators=[
        Optional(), Length(max=2000, message=_l("Use at most %(max)d characters.", max=2000))],
        description=_l("For a choice: one option per line (e.g. S, M, L, XL)."), render_kw={"rows": 4})
    is_required = BooleanField(_l("An answer is required"))
    submit = SubmitField(_l("Add question"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Labels of enum members are lazy: rebuild at request time in the reader's language.
        self.kind.choices = [("text", _l("Free text")), ("choice", _l("One of a list"))]

    def validate_options(self, field):
        lines = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if self.kind.data == QuestionKind.choice.value and len(lines) < 2:
            raise ValidationError(_l("Give at least two options, one per line."))
        if any(len(line) > 100 for line in lines):
            raise ValidationError(_l("Each option can have at most 100 characters."))
        if len(lines) > 30:
            raise ValidationError(_l("Give at most 30 options."))


class _AnswerForm(AppForm):
    submit = SubmitField(_l("Register"))

    def answers(self) -> dict[int, str]:
        return {int(name[2:]): (field.data or "") for name, field in self._fields.items() if name.startswith("q_")}


def registration_form(questions, formdata=None):
    """A form with one field per question the organiser asks (field names q_<id>)."""
    class RegistrationForm(_AnswerForm):
        pass

    for question in questions:
        validators = [DataRequired(message=REQUIRED)] if question.is_required else [Optional()]
        if question.kind is QuestionKind.choice:
            field = SelectField(question.label, choices=[("", _l("— choose —"))] + [(o, o) for o in question.option_list],
                                validators=validators)
        else:
            field = StringField(question.label, filters=[strip_filter], validators=[
                *validators, Length(max=500, message=_l("Use at most %(max)d characters.", max=500)),
                NoControlCharacters()])
        setattr(RegistrationForm, f"q_{question.id}", field)
    if formdata is None:
        return RegistrationForm()
    return RegistrationForm(formdata=formdata)


class CheckInForm(AppForm):
    code = StringField(_l("Check-in code"), filters=[strip_filter], validators=[
        DataRequired(message=_l("Please type or scan a check-in code.")),
        Length(max=300, message=_l("Use at most %(max)d characters.", max=300))],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
                   "autofocus": True})
    submit = SubmitField(_l("Check in"))


class UndoCheckInForm(AppForm):
    reason = TextAreaField(_l("Why is the check-in undone? (kept in the audit log)"), filters=[strip_filter],
                           validators=[DataRequired(message=REQUIRED),
                                       Length(max=MAX_REASON_LENGTH, message=_l("Use at most %(max)d characters.",
                                                                                max=MAX_REASON_LENGTH)),
                                       NoControlCharacters()],
                           render_kw={"rows": 3, "maxlength": MAX_REASON_LENGTH})
    submit = SubmitField(_l("Undo the check-in"))


class MessageForm(AppForm):
    subject = StringField(_l("Subject"), filters=[strip_filter], validators=[
        DataRequired(message=REQUIRED), Length(max=150, message=_l("Use at most %(max)d characters.", max=150)),
        NoControlCharacters()])
    body = TextAreaField(_l("Message"), filters=[strip_filter], validators=[
        DataRequired(message=REQUIRED), Length(max=5000, message=_l("Use at most %(max)d characters.", max=5000))],
        render_kw={"rows": 8, "maxlength": 5000})
    include_waitlist = BooleanField(_l("Also write to the people on the waitlist"), default=True)
    submit = SubmitField(_l("Send to all registrants"))


class CancelEventForm(AppForm):
    reason = optional_text(500, _l("Reason (sent to everyone registered)"))
    submit = SubmitField(_l("Cancel the event and tell everyone"))


class EventFilterForm(AppForm):
    class Meta:
        csrf = False

    when = SelectField(_l("When"), choices=[("upcoming", _l("Upcoming and ongoing")), ("past", _l("Past"))],
                       validators=[Optional()], default="upcoming", widget=FastSelect())
    category = SelectField(_l("Category"), validators=[Optional()], widget=FastSelect())
    audience = SelectField(_l("Audience"), validators=[Optional()], widget=FastSelect())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [("", _l("All categories"))] + list(CATEGORY_LABELS.items())
        self.audience.choices = [("", _l("All audiences"))] + list(AUDIENCE_LABELS.items())

    def selected(self, enum_class, field):
        return enum_class(field.data) if field.data in enum_class.__members__ else None
