"""Forms of the applications domain: the call (coordinators), the student's steps, the review."""
from datetime import date
from functools import lru_cache

from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateField, DateTimeLocalField, DecimalField, FieldList, Form, FormField,
                     HiddenField, IntegerField, RadioField, SearchField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from markupsafe import Markup, escape
from wtforms.widgets import CheckboxInput, ListWidget

from ..auth.forms import REQUIRED
from ..core.forms import (AppForm, CountryCode, FastSelect, IscedCode, LanguageCode, LooseSelectField,
                          NoControlCharacters, optional_text, strip_filter)
from ..core.reference import (CEFR_LEVELS, EQF_LEVELS, academic_year_label, country_choices, isced_choices,
                              language_choices)
from ..partners.models import MobilityType
from . import scoring
from .labels import DOCUMENT_LABELS, GPA_SCALE_LABELS, PERIOD_LABELS, STATUS_LABELS
from .models import MAX_CHOICES_LIMIT, MOTIVATION_MAX, SUPPORT_NEEDS_MAX
from .services import plausible_birth_date
from .workflow import ApplicationStatus as S


class MultiCheckboxField(SelectMultipleField):
    """Check boxes for a multiple choice (rendered as a fieldset by render_field)."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _int_or_none(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return value  # left as is: the field's validation refuses it with a message


@lru_cache(maxsize=1)
def isced_broad_fields() -> list[tuple[str, str]]:
    from ..core.reference import ISCED_BROAD_FIELDS
    return [(code, f"{code} – {name}") for code, name in sorted(ISCED_BROAD_FIELDS.items())]


def eqf_choices():
    return [(level, label) for level, label in EQF_LEVELS.items()]


# --- Calls (coordinators) ------------------------------------------------------------------------

class CriterionForm(Form):
    name = StringField(_l("Criterion"), filters=[strip_filter], validators=[
        Optional(), Length(max=80, message=_l("Use at most %(max)d characters.", max=80)), NoControlCharacters()])
    weight = IntegerField(_l("Weight (%)"), validators=[
        Optional(), NumberRange(min=0, max=100, message=_l("A weight is a whole number from 0 to 100."))])
    uses_gpa = BooleanField(_l("Suggest the converted GPA"))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.name.data and self.weight.data is None and not self.weight.errors:
            self.weight.errors = list(self.weight.errors) + [_("Give this criterion a weight.")]
            ok = False
        if self.weight.data and not self.name.data:
            self.name.errors = list(self.name.errors) + [_("Give this criterion a name.")]
            ok = False
        return ok


class CallForm(AppForm):
    title = StringField(_l("Title"), filters=[strip_filter], validators=[
        DataRequired(message=REQUIRED), Length(max=200, message=_l("Use at most %(max)d characters.", max=200)),
        NoControlCharacters()], description=_l("For example: Semester exchange 2027/28 — outgoing"))
    academic_year = LooseSelectField(_l("Academic year"), coerce=_int_or_none,
                                     validators=[DataRequired(message=REQUIRED)])
    period = LooseSelectField(_l("Mobility period"), validators=[DataRequired(message=REQUIRED)])
    mobility_type = LooseSelectField(_l("Mobility type"), validators=[DataRequired(message=REQUIRED)])
    description = TextAreaField(_l("Description"), filters=[strip_filter], validators=[
        Optional(), Length(max=5000, message=_l("Use at most %(max)d characters.", max=5000)), NoControlCharacters()])
    opens_at = DateTimeLocalField(_l("Opens at"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(message=REQUIRED)])
    closes_at = DateTimeLocalField(_l("Closes at (deadline)"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(message=REQUIRED)])
    max_choices = IntegerField(_l("Destinations a student may rank"), default=3, validators=[
        InputRequired(message=REQUIRED),
        NumberRange(min=1, max=MAX_CHOICES_LIMIT,
                    message=_l("From 1 to %(max)d.", max=MAX_CHOICES_LIMIT))])
    min_gpa = DecimalField(_l("Minimum GPA (0–10 common scale)"), places=2, validators=[
        Optional(), NumberRange(min=0, max=10, message=_l("A number from 0 to 10."))],
        description=_l("Leave empty for no minimum. Students' grades are converted to 0–10 before comparing."))
    eqf_levels = MultiCheckboxField(_l("Study levels"), coerce=int,
                                    description=_l("Leave all unticked to accept every level."))
    required_documents = MultiCheckboxField(_l("Required documents"))
    criteria = FieldList(FormField(CriterionForm), min_entries=5, max_entries=8)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        this_year = date.today().year
        self.academic_year.choices = [("", "—")] + [(y, academic_year_label(y))
                                                    for y in range(this_year - 2, this_year + 4)]
        self.period.choices = [("", "—")] + [(p.value, str(label)) for p, label in PERIOD_LABELS.items()]
        self.mobility_type.choices = [(MobilityType.study.value, _("Studies")),
                                      (MobilityType.traineeship.value, _("Traineeship"))]
        self.eqf_levels.choices = eqf_choices()
        self.required_documents.choices = [(k.value, str(label)) for k, label in DOCUMENT_LABELS.items()]

    def validate_closes_at(self, field):
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The closing date must be after the opening date."))

    def validate_criteria(self, field):
        rows = [row for row in field.entries if row.form.name.data]
        if not rows:
            raise ValidationError(_l("Add at least one scoring criterion."))
        total = sum(row.form.weight.data or 0 for row in rows)
        if total != 100:
            raise ValidationError(_l("The weights must add up to 100 (now %(sum)s).", sum=total))

    def criteria_data(self):
        from .services import CriterionData
        return [CriterionData(row.form.name.data, row.form.weight.data or 0, bool(row.form.uses_gpa.data))
                for row in self.criteria.entries if row.form.name.data]


# --- The student's application, step by step -----------------------------------------------------

class PersonalForm(AppForm):
    full_name = StringField(_l("Full name"), filters=[strip_filter], validators=[
        Optional(), Length(max=120, message=_l("Use at most %(max)d characters.", max=120)), NoControlCharacters()],
        description=_l("As in your passport or identity card."), render_kw={"autocomplete": "name"})
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()], render_kw={"autocomplete": "bday"})
    nationality = LooseSelectField(_l("Nationality"), validators=[Optional(), CountryCode()])
    student_number = StringField(_l("Student number"), filters=[strip_filter], validators=[
        Optional(), Regexp(r"^[A-Za-z0-9][A-Za-z0-9./-]{2,31}$",
                           message=_l("Use 3 to 32 letters, digits, dots, dashes or slashes."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.nationality.choices = [("", _("— choose —"))] + country_choices()

    def validate_date_of_birth(self, field):
        if field.data and not plausible_birth_date(field.data):
            raise ValidationError(_l("Please check the date of birth."))


class StudyForm(AppForm):
    study_programme = StringField(_l("Study programme"), filters=[strip_filter], validators=[
        Optional(), Length(max=200, message=_l("Use at most %(max)d characters.", max=200)), NoControlCharacters()],
        description=_l("For example: Bachelor in Computer Engineering"))
    isced_code = LooseSelectField(_l("Subject area (ISCED-F)"), validators=[Optional(), IscedCode()],
                                  description=_l("The field of your studies; destinations are matched against it."))
    eqf_level = LooseSelectField(_l("Study level (EQF)"), coerce=_int_or_none, validators=[Optional()],
                                 description=_l("The level you will be studying at during the exchange."))
    year_of_study = IntegerField(_l("Year of study"), validators=[
        Optional(), NumberRange(min=1, max=10, message=_l("A whole number from 1 to 10."))])
    gpa = DecimalField(_l("Grade point average"), places=2, validators=[
        Optional(), NumberRange(min=0, max=100, message=_l("Enter your average grade as a number."))],
        render_kw={"inputmode": "decimal"})
    gpa_scale = LooseSelectField(_l("Grading scale"), validators=[Optional()],
                                 description=_l("Your average is converted to a common 0–10 scale for ranking."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.isced_code.choices = [("", _("— choose —"))] + isced_choices()
        self.eqf_level.choices = [("", _("— choose —"))] + eqf_choices()
        self.gpa_scale.choices = [("", _("— choose —"))] + [(s.value, str(label))
                                                            for s, label in GPA_SCALE_LABELS.items()]

    def validate_gpa(self, field):
        if field.data is None:
            return
        if not self.gpa_scale.data:
            raise ValidationError(_l("Choose the grading scale of your average."))
        if self.gpa_scale.data in {s.value for s in scoring.GpaScale} and \
                not scoring.gpa_in_range(field.data, scoring.GpaScale(self.gpa_scale.data)):
            raise ValidationError(_l("This grade is outside the scale you chose."))


class LanguageRowForm(Form):
    language = LooseSelectField(_l("Language"), validators=[Optional(), LanguageCode()])
    level = LooseSelectField(_l("Level (CEFR)"), validators=[Optional()])
    certificate = optional_text(120, _l("Certificate (optional)"),
                                description=_l("For example: DELE B2, 2025"))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.language.data and not self.level.data:
            self.level.errors = list(self.level.errors) + [_("Choose your level.")]
            ok = False
        if self.level.data and not self.language.data:
            self.language.errors = list(self.language.errors) + [_("Choose the language.")]
            ok = False
        return ok


LANGUAGE_ROWS = 4  # rows shown at least (one more appears when they are all used)
MAX_LANGUAGES = 8


class LanguagesForm(AppForm):
    languages = FieldList(FormField(LanguageRowForm), min_entries=LANGUAGE_ROWS, max_entries=MAX_LANGUAGES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        languages = [("", _("— choose —"))] + language_choices()
        levels = [("", "—")] + [(level, level) for level in CEFR_LEVELS]
        for row in self.languages.entries:
            row.form.language.choices = languages
            row.form.level.choices = levels

    def validate_languages(self, field):
        seen = set()
        for row in field.entries:
            code = row.form.language.data
            if code and code in seen:
                row.form.language.errors = list(row.form.language.errors) + [_("You listed this language twice.")]
                raise ValidationError(_l("Each language can be listed once."))
            if code:
                seen.add(code)

    def rows(self):
        return [(row.form.language.data, row.form.level.data, row.form.certificate.data)
                for row in self.languages.entries if row.form.language.data]


class MotivationForm(AppForm):
    motivation = TextAreaField(_l("Motivation"), validators=[
        Optional(), Length(max=MOTIVATION_MAX, message=_l("Use at most %(max)d characters.", max=MOTIVATION_MAX)),
        NoControlCharacters()],
        description=_l("Why do you want to go, and why these destinations? At least 100 characters."))
    support_needs = TextAreaField(_l("Special needs or support requests (optional)"), validators=[
        Optional(), Length(max=SUPPORT_NEEDS_MAX,
                           message=_l("Use at most %(max)d characters.", max=SUPPORT_NEEDS_MAX)),
        NoControlCharacters()],
        description=_l("Only the international office's coordinators see this; partner universities do not."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.motivation.render_kw = {"maxlength": MOTIVATION_MAX, "rows": 12}
        self.support_needs.render_kw = {"maxlength": SUPPORT_NEEDS_MAX, "rows": 4}


def destinations_form(call, place_choices, **kwargs):
    """A form with one select per rank (1 … call.max_choices); place_choices: [(place id, label)]."""

    class DestinationsForm(AppForm):
        def validate(self, extra_validators=None):
            ok = super().validate(extra_validators)
            valid_ids = {str(pid) for pid, _label in place_choices}
            seen: dict[str, int] = {}
            for rank, field in enumerate(self.rank_fields(), start=1):
                value = field.data or ""
                if not value:
                    continue
                if value not in valid_ids:
                    field.errors.append(_("This destination is not offered by this call."))
                    ok = False
                elif value in seen:
                    field.errors.append(_("You already chose this destination as choice %(rank)s.", rank=seen[value]))
                    ok = False
                else:
                    seen[value] = rank
            return ok

        def rank_fields(self):
            return [getattr(self, f"rank_{n}") for n in range(1, call.max_choices + 1)]

        def place_ids(self):
            return [int(f.data) for f in self.rank_fields() if f.data]

    options = [("", _("— no choice —"))] + [(str(pid), label) for pid, label in place_choices]
    for n in range(1, call.max_choices + 1):
        field = SelectField(_l("Choice %(n)s", n=n), choices=options, validate_choice=False, default="")
        setattr(DestinationsForm, f"rank_{n}", field)
    return DestinationsForm(**kwargs)


class UploadForm(AppForm):
    file = FileField(_l("File"), description=_l("PDF, JPEG or PNG, at most 10 MB."),
                     render_kw={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"})


class WithdrawForm(AppForm):
    comment = optional_text(500, _l("Reason (optional)"))


# --- Review (coordinators) ----------------------------------------------------------------------

class DecisionForm(AppForm):
    to_status = LooseSelectField(_l("New status"), validators=[DataRequired(message=REQUIRED)])
    comment = TextAreaField(_l("Message to the student"), filters=[strip_filter], validators=[
        Optional(), Length(max=2000, message=_l("Use at most %(max)d characters.", max=2000)), NoControlCharacters()],
        description=_l("Sent to the student with the status change. Required when you request changes or "
                       "decide the student is not eligible."), render_kw={"rows": 3, "maxlength": 2000})
    version = HiddenField()

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.to_status.choices = [("", _("— choose —"))] + [(t.value, str(STATUS_LABELS[t])) for t in targets]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.to_status.data in (S.changes_requested.value, S.ineligible.value) and not self.comment.data:
            self.comment.errors = list(self.comment.errors) + [_("Tell the student why (this message is sent to them).")]
            ok = False
        return ok


def score_form(criteria, **kwargs):
    """One 0–10 score per criterion of the call, named c<criterion id>."""

    class ScoreForm(AppForm):
        def score_fields(self):
            return [(criterion, getattr(self, f"c{criterion.id}")) for criterion in criteria]

    for criterion in criteria:
        setattr(ScoreForm, f"c{criterion.id}", DecimalField(
            criterion.name, places=2, validators=[
                InputRequired(message=REQUIRED),
                NumberRange(min=0, max=10, message=_l("A score must be a number from 0 to 10."))],
            description=_l("Weight %(weight)s%%", weight=criterion.weight),
            render_kw={"inputmode": "decimal", "min": 0, "max": 10, "step": "0.1"}))
    return ScoreForm(**kwargs)


class CommentForm(AppForm):
    body = TextAreaField(_l("Comment"), filters=[strip_filter], validators=[
        DataRequired(message=REQUIRED), Length(max=4000, message=_l("Use at most %(max)d characters.", max=4000)),
        NoControlCharacters()], render_kw={"rows": 3, "maxlength": 4000})
    visibility = RadioField(_l("Who sees it"), default="internal",
                            choices=[("internal", _l("Coordinators only")), ("student", _l("The student (sent by email)"))],
                            validators=[InputRequired(message=REQUIRED)])


class AssignReviewerForm(AppForm):
    reviewer_id = LooseSelectField(_l("Reviewer"), coerce=_int_or_none, validators=[DataRequired(message=REQUIRED)])

    def __init__(self, *args, reviewers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.reviewer_id.choices = [("", _("— choose —"))] + [(u.id, u.name) for u in reviewers]


BULK_ACTIONS = (S.under_review, S.eligible, S.ineligible, S.changes_requested)


class BulkForm(AppForm):
    action = LooseSelectField(_l("With the selected applications"), validators=[DataRequired(message=REQUIRED)])
    comment = StringField(_l("Message to the students"), filters=[strip_filter], validators=[
        Optional(), Length(max=2000, message=_l("Use at most %(max)d characters.", max=2000)), NoControlCharacters()],
        render_kw={"maxlength": 2000,
                   "placeholder": _l("Sent with the change; required to request changes or mark not eligible")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .labels import ACTION_LABELS
        self.action.choices = [("", _("— choose an action —"))] + [(s.value, str(ACTION_LABELS[s])) for s in BULK_ACTIONS]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.action.data in (S.changes_requested.value, S.ineligible.value) and not self.comment.data:
            self.comment.errors = list(self.comment.errors) + [_("Tell the students why (this message is sent to them).")]
            ok = False
        return ok


class PrerenderedSelect(FastSelect):
    """A select whose options after the first come already rendered (`field.options_html`, plain
    `<option value="…">…</option>`s of integer values, e.g. pipeline.Destinations.options, cached per call): the
    same HTML as FastSelect without building hundreds of options on every request."""

    def __call__(self, field, **kwargs):
        rendered = getattr(field, "options_html", None)
        if rendered is None:
            return super().__call__(field, **kwargs)
        (value, label), data = field.choices[0], field.data
        first = f'<option {"selected " if field.coerce(value) == data else ""}value="{escape(value)}">{escape(label)}</option>'
        if type(data) is int:
            rendered = rendered.replace(f'<option value="{data}">', f'<option selected value="{data}">', 1)
        return Markup(f"{self.open_tag(field, kwargs)}{first}{rendered}</select>")


SORTS = ("submitted", "-submitted", "name", "-name", "score", "-score", "gpa", "-gpa", "status", "-status",
         "number", "-number")


class PipelineFilterForm(AppForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Search"), filters=[strip_filter], validators=[
        Optional(), Length(max=100, message=_l("Use at most %(max)d characters.", max=100))],
        render_kw={"placeholder": _l("Name, student number or email")})
    status = LooseSelectField(_l("Status"), validators=[Optional()])
    place = LooseSelectField(_l("Destination"), coerce=_int_or_none, validators=[Optional()],
                             widget=PrerenderedSelect())
    field = LooseSelectField(_l("Subject area"), validators=[Optional()])
    level = LooseSelectField(_l("Level"), coerce=_int_or_none, validators=[Optional()])
    score_min = DecimalField(_l("Score from"), places=2, validators=[
        Optional(), NumberRange(min=0, max=100, message=_l("A number from 0 to 100."))])
    score_max = DecimalField(_l("to"), places=2, validators=[
        Optional(), NumberRange(min=0, max=100, message=_l("A number from 0 to 100."))])
    sort = HiddenField(default="submitted")

    def __init__(self, *args, places=(), places_html=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = ([("", _("All sent in")), ("needs_action", _("Needs action"))]
                               + [(s.value, str(label)) for s, label in STATUS_LABELS.items()])
        self.place.choices = [("", _("All destinations"))] + list(places)
        self.place.options_html = places_html
        self.field.choices = [("", _("All subject areas"))] + isced_broad_fields()
        self.level.choices = [("", _("All levels"))] + eqf_choices()
