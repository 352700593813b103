from ..core.i18n import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length

from ..core.forms import (AppForm, LooseSelectField, NoControlCharacters, PasswordRules, TimeZone, email_field,
                          strip_filter, timezone_choices)

REQUIRED = _l("This field is required.")


def name_field():
    return StringField(_l("Full name"), filters=[strip_filter], validators=[
        DataRequired(message=REQUIRED),
        Length(max=120, message=_l("Use at most %(max)d characters.", max=120)), NoControlCharacters()],
        render_kw={"autocomplete": "name"})


def new_password_fields(label=_l("Password")):
    password = PasswordField(label, validators=[InputRequired(message=REQUIRED), PasswordRules()],
                             description=_l("At least 10 characters, with letters and a digit or symbol."),
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the password"), validators=[
        InputRequired(message=REQUIRED), EqualTo("password", message=_l("The two passwords do not match."))],
        render_kw={"autocomplete": "new-password"})
    return password, confirm


class LoginForm(AppForm):
    email = email_field(validators=[DataRequired(message=REQUIRED)])
    password = PasswordField(_l("Password"), validators=[InputRequired(message=REQUIRED),
                                                        Length(max=128, message=_l("Use at most %(max)d characters.", max=128))],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Remember me on this device"))
    submit = SubmitField(_l("Log in"))


class SignupForm(AppForm):
    name = name_field()
    email = email_field(validators=[DataRequired(message=REQUIRED)])
    password, confirm = new_password_fields()
    submit = SubmitField(_l("Create account"))


class ForgotPasswordForm(AppForm):
    email = email_field(validators=[DataRequired(message=REQUIRED)])
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(AppForm):
    email = None  # the PasswordRules look for it; absent here
    password, confirm = new_password_fields(_l("New password"))
    submit = SubmitField(_l("Set new password"))


class ChangePasswordForm(AppForm):
    email = None
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(message=REQUIRED)],
                                     render_kw={"autocomplete": "current-password"})
    password, confirm = new_password_fields(_l("New password"))
    submit = SubmitField(_l("Change password"))


class ProfileForm(AppForm):
    name = name_field()
    locale = LooseSelectField(_l("Language"), choices=[("en", "English"), ("es", "Español"), ("fr", "Français")])
    timezone = LooseSelectField(_l("Time zone"), validators=[TimeZone()])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()
