from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from ..core.i18n import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from ..core import audit
from ..core.errors import WorkflowError
from ..extensions import db, limiter, login_manager
from . import bp, services
from .permissions import public
from .forms import (ChangePasswordForm, ForgotPasswordForm, LoginForm, ProfileForm, ResetPasswordForm,
                    SignupForm)
from .models import User
from ..core.forms import form_status

login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


#: Every signed-in request runs it: built once (and its cache key with it), the token is a parameter.
_USER_BY_TOKEN = select(User).where(User.session_token == bindparam("token"))


@login_manager.user_loader
def load_user(session_token: str):
    return db.session.scalar(_USER_BY_TOKEN, {"token": session_token})


@login_manager.unauthorized_handler
def unauthorized():
    flash(_("Please log in to see this page."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative '//' or backslash tricks."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")) \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def auth_rate_limit() -> str:
    from flask import current_app
    return current_app.config["AUTH_RATE_LIMIT"]


limit_posts = limiter.limit(auth_rate_limit, methods=["POST"])
#: The e-mailed links' pages: a guesser tries tokens by opening them, so every method counts.
limit_link_pages = limiter.limit(auth_rate_limit)


def start_session(user: User, remember: bool = False) -> None:
    language = session.get("lang")  # the visitor's choice in the language switcher survives the login
    session.clear()  # a fresh session at every login
    login_user(user, remember=remember)
    session.permanent = True
    if language:
        session["lang"] = language


def demo_logins_available() -> bool:
    return db.session.scalar(select(User.id).where(User.email == "student@demo.test")) is not None


@bp.route("/login", methods=["GET", "POST"])
@public
@limit_posts
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    if not form.is_submitted() and session.get("login_email"):
        form.email.data = session.pop("login_email")  # just signed up
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, request.remote_addr)
        except WorkflowError as exc:
            db.session.commit()  # keep the failed attempt and the audit entry
            if exc.code == "invalid":
                form.password.errors.append(exc.message)
            else:
                flash(exc.message, "error")
            status = exc.status
        else:
            db.session.commit()
            start_session(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next")) or url_for("core.index"))
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form, demo=demo_logins_available()), status


@bp.post("/logout")
@login_required
def logout():
    user = current_user._get_current_object()
    user.end_all_sessions()
    audit.record("logout", user=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/signup", methods=["GET", "POST"])
@public
@limit_posts
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = SignupForm()
    if form.validate_on_submit():
        # The same answer whether or not the address had an account (services.sign_up): the new student
        # logs in on the next page, their address filled in.
        try:
            user, template = services.sign_up(form.email.data, form.name.data, form.password.data,
                                              session.get("lang"))
            db.session.commit()
        except (IntegrityError, WorkflowError):  # the same address signed up at the same moment: it is taken now
            db.session.rollback()
            user, template = None, None
        if template:
            services.send_signup_mail(user, template)
        session["login_email"] = form.email.data
        flash(_("Check your mailbox: we have sent a message to %(email)s. If the address was new, your account "
                "is ready: log in with the password you chose.", email=form.email.data), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/signup.html", form=form), form_status(form)


@bp.route("/forgot", methods=["GET", "POST"])
@public
@limit_posts
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.request_password_reset(form.email.data)
        db.session.commit()
        if user is not None:
            services.send_password_reset(user)
        flash(_("If an account exists for %(email)s, we have sent it a link to reset the password. "
                "The link works once and expires in an hour.", email=form.email.data), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), form_status(form)


def flash_calendar_link_replaced(user: User) -> None:
    if user.calendar_token:  # a new one since the password changed (services.change_password)
        flash(_("Your private calendar link has been replaced too: subscribe again with the new one (Events, "
                "“Subscribe in your calendar app”)."), "info")


def _token_page(token: str, salt: str, max_age_key: str, action, template: str, success_message: str):
    from flask import current_app
    try:
        services.user_from_token(token, salt, current_app.config[max_age_key])
    except WorkflowError as exc:
        return render_template("auth/token_invalid.html", message=exc.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = action(token, form.password.data)
        except WorkflowError as exc:
            return render_template("auth/token_invalid.html", message=exc.message), 400
        db.session.commit()
        logout_user()
        start_session(user)
        flash(success_message, "success")
        flash_calendar_link_replaced(user)
        return redirect(url_for("core.index"))
    return render_template(template, form=form), form_status(form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
@limit_link_pages
def reset_password(token):
    return _token_page(token, services.RESET_SALT, "PASSWORD_RESET_MAX_AGE", services.reset_password,
                       "auth/reset.html", _("Your password has been changed."))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
@limit_link_pages
def accept_invitation(token):
    return _token_page(token, services.INVITE_SALT, "INVITATION_MAX_AGE", services.accept_invitation,
                       "auth/invitation.html", _("Your account is ready. Welcome!"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user._get_current_object()
    profile = ProfileForm(obj=user, prefix="profile")
    password_form = ChangePasswordForm(prefix="password")
    status = 200
    if profile.submit.data and profile.validate_on_submit():
        user.name = profile.name.data
        user.locale = profile.locale.data
        user.timezone = profile.timezone.data or None
        db.session.commit()
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("auth.account"))
    if password_form.submit.data and password_form.validate_on_submit():
        if not user.check_password(password_form.current_password.data):
            password_form.current_password.errors.append(_("This is not your current password."))
        else:
            services.change_password(user, password_form.password.data)
            db.session.commit()
            start_session(user)  # this browser stays signed in; every other session has ended
            flash(_("Your password has been changed. Other devices have been signed out."), "success")
            flash_calendar_link_replaced(user)
            return redirect(url_for("auth.account"))
    if request.method == "POST":
        status = 422
    return render_template("auth/account.html", profile=profile, password_form=password_form), status
