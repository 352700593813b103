"""Forms for institutions, contacts, agreements, cooperation conditions, the CSV import, the filters and the
factsheet."""
from functools import lru_cache

from ..core.i18n import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, FieldList, Form, FormField, HiddenField, IntegerField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TextAreaField, URLField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..core.forms import (AppForm, CountryCode, FastSelect, IscedCode, LanguageCode, LooseSelectField, MemoSelect,
                          NoControlCharacters, email_field, optional_text, strip_filter)
from ..core.i18n import country_name, current_locale
from ..core.reference import (CEFR_LEVELS, EQF_LEVELS, academic_year_label, country_choices, isced_choices,
                              language_choices)
from . import codes
from .models import (MAX_LANGUAGES, MAX_MONTHS, MAX_PLACES, TERMINATION_REASON_MAX, AgreementStatus, Direction,
                     MobilityType, current_academic_year)
from .services import MAX_NOTES, MSG, year_bounds

REQUIRED = _l("This field is required.")


def _choices(pairs, blank=None):
    # Plain (value, label) tuples: WTForms reads them as SelectChoice, and FastSelect renders them in one loop
    # (the filters list every partner).
    result = [("", blank)] if blank is not None else []
    return result + [(str(value), label) for value, label in pairs]


def _int_or_none(value):
    if value in (None, ""):
        return None
    return int(value)


def notes_field(label=None, max_length=MAX_NOTES, **kwargs):
    return TextAreaField(label or _l("Notes"), filters=[strip_filter], validators=[
        Optional(), Length(max=max_length, message=_l("Use at most %(max)d characters.", max=max_length)),
        NoControlCharacters()], render_kw={"maxlength": max_length, "rows": 4}, **kwargs)


class CodeSelectField(SelectField):
    """A select of codes (country, language, subject area) whose validators check the code and say why."""

    def pre_validate(self, form):
        pass


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes; rendered by render_field as a fieldset of choices."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# --- Field validators ---------------------------------------------------------------------------

class SchacCode:
    def __call__(self, form, field):
        if field.data and codes.normalise_schac(field.data) is None:
            raise ValidationError(MSG["schac"])


class ErasmusCode:
    def __call__(self, form, field):
        if field.data and codes.normalise_erasmus(field.data) is None:
            raise ValidationError(MSG["erasmus"])


class WebsiteUrl:
    def __call__(self, form, field):
        if field.data and codes.normalise_url(field.data) is None:
            raise ValidationError(MSG["website"])


class PhoneNumber:
    def __call__(self, form, field):
        if field.data and codes.normalise_phone(field.data) is None:
            raise ValidationError(MSG["phone"])


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value):
    return value.strip().lower() if isinstance(value, str) else value


def _erasmus_filter(value):
    """Show the canonical spelling when the code is valid, what was typed otherwise."""
    if isinstance(value, str) and value.strip():
        return codes.normalise_erasmus(value) or value.strip()
    return value


# --- Institutions ------------------------------------------------------------------------------

class InstitutionForm(AppForm):
    name = StringField(_l("Name"), filters=[strip_filter], validators=[
        DataRequired(message=MSG["name_required"]),
        Length(max=200, message=_l("Use at most %(max)d characters.", max=200)), NoControlCharacters()])
    country = CodeSelectField(_l("Country"), filters=[_upper],
                              validators=[DataRequired(message=MSG["country"]), CountryCode()])
    city = optional_text(120, _l("City"))
    website = URLField(_l("Website"), filters=[strip_filter], validators=[
        Optional(), Length(max=300, message=_l("Use at most %(max)d characters.", max=300)), WebsiteUrl()],
        description=_l("The full address, like https://www.unibo.it."))
    schac_code = StringField(_l("SCHAC code"), filters=[_lower], validators=[
        DataRequired(message=MSG["schac_required"]),
        Length(max=120, message=_l("Use at most %(max)d characters.", max=120)), SchacCode()],
        description=_l("The institution's SCHAC home organisation code, usually its internet domain, "
                       "like unibo.it. Each institution has its own."),
        render_kw={"autocapitalize": "none", "spellcheck": "false"})
    erasmus_code = StringField(_l("Erasmus code"), filters=[_erasmus_filter], validators=[
        Optional(), Length(max=20, message=_l("Use at most %(max)d characters.", max=20)), ErasmusCode()],
        description=_l("Only for institutions in Erasmus+ programme countries, like \"I  BOLOGNA01\"."),
        render_kw={"spellcheck": "false"})
    notes = notes_field(description=_l("Internal notes for the international office; partners do not see them."))
    submit = SubmitField(_l("Save institution"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = _choices(country_choices(), blank=_l("— choose a country —"))


class InstitutionFilterForm(AppForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[strip_filter], validators=[
        Optional(), Length(max=200, message=_l("Use at most %(max)d characters.", max=200))],
        render_kw={"placeholder": _l("Name, city, SCHAC or Erasmus code"), "type": "search"})
    country = LooseSelectField(_l("Country"), validators=[Optional()])
    sort = HiddenField()

    def __init__(self, *args, countries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = _choices(((c, country_name(c)) for c in countries), blank=_l("All countries"))


class ContactForm(AppForm):
    name = StringField(_l("Name"), filters=[strip_filter], validators=[
        DataRequired(message=_l("Enter the contact's name.")),
        Length(max=120, message=_l("Use at most %(max)d characters.", max=120)), NoControlCharacters()])
    role = optional_text(120, _l("Role"), description=_l("For example: Erasmus coordinator, incoming mobility."))
    email = email_field(validators=[Optional()])
    phone = StringField(_l("Phone"), filters=[strip_filter], validators=[
        Optional(), Length(max=40, message=_l("Use at most %(max)d characters.", max=40)), PhoneNumber()],
        render_kw={"type": "tel", "autocomplete": "off"})
    submit = SubmitField(_l("Save contact"))


class ImportForm(AppForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a CSV file to upload."))],
                     render_kw={"accept": ".csv,text/csv"})
    submit = SubmitField(_l("Check and import"))


# --- Agreements and conditions ------------------------------------------------------------------

def year_choices(*extra: int | None) -> list[SelectChoice]:
    low, high = year_bounds()
    years = sorted(set(range(low, high + 1)) | {y for y in extra if y})
    return [SelectChoice(str(y), academic_year_label(y)) for y in years]


def _places_validators(limit, key):
    return [InputRequired(message=REQUIRED), NumberRange(min=0, max=limit, message=MSG[key])]


class LanguageRowForm(Form):
    """One language requirement; an empty row is ignored."""
    language = CodeSelectField(_l("Language"), filters=[_lower], validators=[LanguageCode()],
                                choices=lambda: _choices(language_choices(), blank=_l("— no language —")))
    cefr_level = LooseSelectField(_l("CEFR level"), filters=[_upper],
                                  choices=lambda: _choices(((c, c) for c in CEFR_LEVELS), blank="—"))

    def validate_cefr_level(self, field):
        if self.language.data and not field.data:
            raise ValidationError(MSG["language_needs_level"])

    def validate_language(self, field):
        if self.cefr_level.data and not field.data:
            raise ValidationError(MSG["level_needs_language"])


class ConditionFields(Form):
    """The fields of one cooperation condition (used alone and inside the new-agreement form)."""
    direction = SelectField(_l("Direction"), validators=[DataRequired(message=REQUIRED)],
                            choices=lambda: _choices((d.value, d.label) for d in Direction),
                            invalid_choice_message=_l("Choose a value from the list."))
    mobility_type = SelectField(_l("Mobility type"), validators=[DataRequired(message=REQUIRED)],
                                choices=lambda: _choices((m.value, m.label) for m in MobilityType),
                                invalid_choice_message=_l("Choose a value from the list."))
    isced_code = CodeSelectField(_l("Subject area (ISCED-F 2013)"),
                                  validators=[DataRequired(message=MSG["isced"]), IscedCode()],
                                  choices=lambda: _choices(isced_choices(), blank=_l("— choose a subject area —")))
    eqf_levels = MultiCheckboxField(_l("Study levels (EQF)"), coerce=int,
                                    description=_l("One or more levels."),
                                    choices=lambda: _choices(EQF_LEVELS.items()),
                                    invalid_choice_message=_l("Choose EQF levels from 5 to 8."),
                                    invalid_value_message=_l("Choose EQF levels from 5 to 8."),
                                    default=[6, 7])
    places_per_year = IntegerField(_l("Places per year"), validators=_places_validators(MAX_PLACES, "places"),
                                   render_kw={"min": 0, "max": MAX_PLACES})
    months_per_place = IntegerField(_l("Months per place"), validators=_places_validators(MAX_MONTHS, "months"),
                                    render_kw={"min": 0, "max": MAX_MONTHS}, default=5,
                                    description=_l("Usually 5 for a semester, 10 for a year."))
    languages = FieldList(FormField(LanguageRowForm), min_entries=MAX_LANGUAGES, max_entries=MAX_LANGUAGES,
                          label=_l("Language requirements"))

    def validate_eqf_levels(self, field):
        if not field.data:
            raise ValidationError(MSG["eqf"])

    def validate_languages(self, field):
        chosen = [entry.form.language.data for entry in field.entries if entry.form.language.data]
        if len(chosen) != len(set(chosen)):
            raise ValidationError(MSG["language_twice"])

    def language_pairs(self) -> list[tuple[str, str]]:
        return [(entry.form.language.data, entry.form.cefr_level.data) for entry in self.languages.entries
                if entry.form.language.data]


class ConditionForm(ConditionFields, AppForm):
    submit = SubmitField(_l("Save condition"))

    def __init__(self, *args, condition=None, **kwargs):
        if condition is not None:
            kwargs.setdefault("data", condition_data(condition))
        super().__init__(*args, **kwargs)


def condition_data(condition) -> dict:
    """Form data for an existing condition."""
    return {"direction": condition.direction.value, "mobility_type": condition.mobility_type.value,
            "isced_code": condition.isced_code, "eqf_levels": condition.eqf_level_list,
            "places_per_year": condition.places_per_year, "months_per_place": condition.months_per_place,
            "languages": [{"language": req.language, "cefr_level": req.cefr_level}
                          for req in condition.languages]}


class AgreementForm(AppForm):
    partner_id = LooseSelectField(_l("Partner institution"), coerce=_int_or_none,
                                  validators=[DataRequired(message=REQUIRED)])
    first_year = LooseSelectField(_l("First academic year"), coerce=_int_or_none,
                                  validators=[DataRequired(message=REQUIRED)])
    last_year = LooseSelectField(_l("Last academic year"), coerce=_int_or_none,
                                 validators=[DataRequired(message=REQUIRED)])
    status = SelectField(_l("Status"), validators=[DataRequired(message=REQUIRED)],
                         invalid_choice_message=_l("Choose a value from the list."))
    reference = optional_text(64, _l("Reference"), description=_l("Your own reference or the EWP IIA code."))
    notes = notes_field()
    submit = SubmitField(_l("Save agreement"))

    def __init__(self, *args, partners=(), statuses=(AgreementStatus.draft, AgreementStatus.active),
                 agreement=None, **kwargs):
        if agreement is not None:
            kwargs.setdefault("obj", agreement)
        else:
            current = current_academic_year()
            kwargs.setdefault("data", {"first_year": current, "last_year": current + 2})
        super().__init__(*args, **kwargs)
        if agreement is not None and not self.is_submitted():
            self.status.data = agreement.status.value
        self.partner_id.choices = _choices(partners, blank=_l("— choose a partner —"))
        if agreement is not None and agreement.status is not AgreementStatus.draft:
            self.partner_id.description = _l("The partner can only be changed while the agreement is a draft.")
        extra = (agreement.first_year, agreement.last_year) if agreement is not None else ()
        self.first_year.choices = year_choices(*extra)
        self.last_year.choices = year_choices(*extra)
        self.status.choices = _choices((s.value, s.label) for s in statuses)

    def validate_last_year(self, field):
        if self.first_year.data and field.data and field.data < self.first_year.data:
            raise ValidationError(MSG["years_order"])


class NewAgreementForm(AgreementForm):
    condition = FormField(ConditionFields, label=_l("First cooperation condition"))


class TerminateForm(AppForm):
    reason = TextAreaField(_l("Reason for the termination"), filters=[strip_filter], validators=[
        DataRequired(message=_l("Give the reason for the termination.")),
        Length(max=TERMINATION_REASON_MAX, message=_l("Use at most %(max)d characters.", max=TERMINATION_REASON_MAX)),
        NoControlCharacters()],
        render_kw={"maxlength": TERMINATION_REASON_MAX, "rows": 3})
    confirm = BooleanField(_l("I confirm that this agreement ends now and offers no more places."),
                           validators=[DataRequired(message=_l("Tick the box to confirm the termination."))])
    submit = SubmitField(_l("Terminate agreement"))


@lru_cache(maxsize=8)
def _isced_filter_choices(language: str) -> list:
    """The subject-area filter's choices in the language: one list object per language (see MemoSelect)."""
    return _choices(isced_choices(), blank=_l("All subject areas"))


class AgreementFilterForm(AppForm):
    class Meta:
        csrf = False

    partner_id = LooseSelectField(_l("Partner"), coerce=_int_or_none, validators=[Optional()], widget=MemoSelect())
    country = LooseSelectField(_l("Country"), validators=[Optional()])
    isced = LooseSelectField(_l("Subject area"), validators=[Optional()], widget=MemoSelect())
    direction = LooseSelectField(_l("Direction"), validators=[Optional()])
    status = LooseSelectField(_l("Status"), validators=[Optional()])
    year = LooseSelectField(_l("Academic year"), coerce=_int_or_none, validators=[Optional()])
    ending = LooseSelectField(_l("Last academic year"), coerce=_int_or_none, validators=[Optional()])
    sort = HiddenField()

    def __init__(self, *args, partners=None, countries=(), **kwargs):
        """partners: ready choices, blank first (services.partner_filter_choices); None for no partner filter."""
        super().__init__(*args, **kwargs)
        self.partner_id.choices = partners if partners is not None else _choices((), blank=_l("All partners"))
        self.country.choices = _choices(((c, country_name(c)) for c in countries), blank=_l("All countries"))
        self.isced.choices = _isced_filter_choices(str(current_locale()))
        self.direction.choices = _choices(((d.value, d.label) for d in Direction), blank=_l("Both directions"))
        self.status.choices = _choices(((s.value, s.label) for s in AgreementStatus), blank=_l("Any status"))
        self.year.choices = [SelectChoice("", _l("Any year"))] + year_choices()
        self.ending.choices = [SelectChoice("", _l("Any year"))] + year_choices()

    def value(self, name):
        """The field's value when valid, None otherwise (a bad filter is ignored, not an error page)."""
        field = self[name]
        return field.data if field.data not in ("", None) and not field.errors else None


class BalanceFilterForm(AppForm):
    class Meta:
        csrf = False

    start = LooseSelectField(_l("From academic year"), coerce=_int_or_none, validators=[Optional()])
    country = LooseSelectField(_l("Country"), validators=[Optional()])

    def __init__(self, *args, countries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.start.choices = [SelectChoice("", _l("This academic year"))] + year_choices()
        self.country.choices = _choices(((c, country_name(c)) for c in countries), blank=_l("All countries"))

    def value(self, name):
        field = self[name]
        return field.data if field.data not in ("", None) and not field.errors else None


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
