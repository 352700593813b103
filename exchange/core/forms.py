"""Form helpers shared by every domain: validators, the empty action form, common fields."""
import re
import zoneinfo
from functools import lru_cache

import email_validator

from .i18n import current_locale
from .i18n import lazy_gettext as _l
from babel import support
from flask import current_app
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path
from markupsafe import Markup, escape
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, Length, Optional, ValidationError
from wtforms.widgets import Select, TextArea, html_params

from .reference import COUNTRY_CODES, LANGUAGE_CODES, isced_fields

# The demo accounts (student@demo.test, …) use the reserved .test domain: accept it in forms.
if "test" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("test")

COMMON_PASSWORDS = {
    "password", "password1", "password123", "1234567890", "123456789", "12345678", "qwertyuiop",
    "iloveyou", "letmein123", "welcome123", "admin12345", "passw0rd", "qwerty123", "abc1234567",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: What a single-line field refuses besides: line breaks (CR, LF, NEL, the Unicode line and paragraph
#: separators) and tabs. A name or a title with one would break what it is copied into (a mail's subject).
_BREAKS = re.compile(r"[\t\n\r\x85\u2028\u2029]")


@lru_cache(maxsize=16)
def _wtforms_translations(locale: str):
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class AppForm(FlaskForm):
    """The base of every form of the app: WTForms' own messages ("Not a valid number." …) in the request's
    language from a catalogue loaded once per language (Flask-WTF reads it from disk on every request)."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_translations(str(current_locale()))


class EmptyForm(AppForm):
    """For buttons that only act: carries the CSRF token."""


class NoControlCharacters:
    """No invisible control characters; in a single-line field (any but a text area) no line break or tab either."""

    def __call__(self, form, field):
        if not isinstance(field.data, str):
            return
        if not isinstance(field.widget, TextArea) and _BREAKS.search(field.data):
            raise ValidationError(_l("Please write this on one line, without line breaks or tabs."))
        if _CONTROL.search(field.data):
            raise ValidationError(_l("Please remove invisible control characters."))


def strip_filter(value):
    return value.strip() if isinstance(value, str) else value


def email_field(label=None, **kwargs):
    return EmailField(label or _l("Email address"), filters=[strip_filter], validators=[
        *kwargs.pop("validators", []),
        Length(max=254, message=_l("An email address can have at most 254 characters.")),
        Email(message=_l("Please enter a valid email address, like name@example.org."),
              check_deliverability=False),
    ], render_kw={"autocomplete": "email", "inputmode": "email"}, **kwargs)


class PasswordRules:
    """At least 10 characters with a letter and a digit or symbol; not a common password; not the email."""

    def __init__(self, email_field: str | None = "email"):
        self.email_field = email_field

    def __call__(self, form, field):
        value = field.data or ""
        if len(value) < 10:
            raise ValidationError(_l("Use at least 10 characters."))
        if len(value) > 128:
            raise ValidationError(_l("Use at most 128 characters."))
        if not re.search(r"[^\W\d_]", value) or not re.search(r"[\d\W_]", value):
            raise ValidationError(_l("Use letters and at least one digit or symbol."))
        if value.lower() in COMMON_PASSWORDS or len(set(value)) < 4:
            raise ValidationError(_l("This password is too easy to guess."))
        email_input = getattr(form, self.email_field, None) if self.email_field else None
        local = (getattr(email_input, "data", None) or "").split("@")[0].lower()
        if local and len(local) >= 4 and local in value.lower():
            raise ValidationError(_l("The password must not contain your email address."))


class CountryCode:
    def __call__(self, form, field):
        if field.data and field.data.upper() not in COUNTRY_CODES:
            raise ValidationError(_l("Choose a country from the list (ISO 3166-1 code)."))


class LanguageCode:
    def __call__(self, form, field):
        if field.data and field.data.lower() not in LANGUAGE_CODES:
            raise ValidationError(_l("Choose a language from the list (ISO 639-1 code)."))


class IscedCode:
    def __call__(self, form, field):
        if field.data and field.data not in isced_fields():
            raise ValidationError(_l("Choose a subject area from the ISCED-F 2013 list."))


class TimeZone:
    def __call__(self, form, field):
        if field.data and field.data not in zoneinfo.available_timezones():
            raise ValidationError(_l("Choose a time zone from the list."))


def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return [("", _l("Default (the office's time zone)"))] + [(z, z.replace("_", " ")) for z in zones]


class FastSelect(Select):
    """WTForms' select widget with a fast path for plain options: the same HTML, several times faster.

    Filter forms list hundreds of partners, subject areas or destinations; WTForms builds each option with
    `html_params` (sorting and cleaning the attribute names), which made the select the most expensive part
    of those pages. Options with extra attributes still go through WTForms.
    """

    def __call__(self, field, **kwargs):
        pairs = self._plain_pairs(field)
        if pairs is None:
            return super().__call__(field, **kwargs)
        # Plain (value, label) options (the usual case): one loop, no Choice objects, the same HTML.
        coerce, data = field.coerce, field.data
        html = [self.open_tag(field, kwargs)]
        append = html.append
        for value, label in pairs:
            selected = "selected " if coerce(value) == data else ""
            shown = escape(label or value)
            if value is None or isinstance(value, bool):
                value = str(value)
            append(f'<option {selected}value="{escape(value)}">{shown}</option>')
        html.append("</select>")
        return Markup("".join(html))

    def open_tag(self, field, kwargs) -> str:
        """`<select …>` with the field's id, name and validation attributes, as WTForms writes it."""
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in self.validation_attrs:
            if k not in kwargs and getattr(flags, k, False):
                kwargs[k] = getattr(flags, k)
        return f"<select {html_params(name=field.name, **kwargs)}>"

    def _plain_pairs(self, field):
        """[(value, label)] when the field's choices are a list of pairs or of SelectChoice without attributes
        or option groups; None otherwise (WTForms renders those)."""
        choices = getattr(field, "choices", None)
        if self.multiple or type(field).iter_choices is not SelectField.iter_choices or type(choices) is not list:
            return None
        pairs = []
        for choice in choices:
            if type(choice) is tuple and len(choice) == 2:
                pairs.append(choice)
            elif type(choice) is SelectChoice and not choice.render_kw and choice.optgroup is None:
                pairs.append((choice.value, choice.label))
            else:
                return None
        return pairs

    @classmethod
    def render_option(cls, choice, **kwargs):
        value = choice.value
        if kwargs or choice.render_kw or value is None or value is False:
            return super().render_option(choice, **kwargs)
        if value is True:
            value = "True"
        label = escape(choice.label or choice.value)
        # html_params sorts the attributes: "selected" comes before "value".
        return Markup(f'<option {"selected " if choice.selected else ""}value="{escape(value)}">{label}</option>')


class MemoSelect(FastSelect):
    """FastSelect that keeps the HTML it made for a choices list it is given again.

    For a field whose choices are one list object kept between requests (the agreement filters' hundreds of
    partners, services.partner_filter_choices): the HTML is reused when the same list comes with the same value,
    attributes and language. A new list (the partners changed) is a new object, so nothing stale is shown."""

    def __init__(self, size: int = 64):
        super().__init__()
        self.size = size
        self._made: dict = {}

    def __call__(self, field, **kwargs):
        choices = field.choices
        key = (id(choices), str(current_locale()), field.id, field.name, repr(field.data),
               tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        found = self._made.get(key)
        if found is not None and found[0] is choices:
            return found[1]
        html = super().__call__(field, **kwargs)
        if len(self._made) >= self.size:
            self._made.clear()
        self._made[key] = (choices, html)
        return html


class LooseSelectField(SelectField):
    """A select that takes one of its choices, or nothing (whether a value is required is for its validators);
    anything else is refused with a clear message."""

    widget = FastSelect()

    def pre_validate(self, form):
        if self.data in (None, "") or any(str(value) == str(self.data) for value, *_ in self.iter_choices()):
            return
        raise ValidationError(_l("Choose a value from the list."))


def optional_text(max_length: int, label, **kwargs):
    return StringField(label, filters=[strip_filter], validators=[
        Optional(), Length(max=max_length, message=_l("Use at most %(max)d characters.", max=max_length)),
        NoControlCharacters()], **kwargs)


def form_status(form) -> int:
    """The status of a page showing `form`: 422 when it was submitted and refused, else 200."""
    return 422 if form.is_submitted() else 200


def put_error(form, exc, default: str | None = None, flash_unplaced: bool = True) -> None:
    """Show a service's WorkflowError beside its field (or the default one); flash it when there is none
    (unless the page shows the message itself: flash_unplaced=False)."""
    from flask import flash
    name = exc.field if exc.field and exc.field in form else default
    if name and not isinstance(form[name].errors, dict):  # a sub-form's errors are per field: flashed instead
        form[name].errors = [*form[name].errors, exc.message]
    elif flash_unplaced:
        flash(exc.message, "error")
