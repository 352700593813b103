from flask import flash, redirect, render_template, request, url_for
from ..core.i18n import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth import services as accounts
from ..auth.models import Role, User
from ..auth.permissions import admin_required
from ..core.actions import attempt
from ..core.forms import EmptyForm, form_status
from ..core.pagination import paginate
from ..extensions import db
from ..partners.models import PartnerInstitution
from . import bp
from .forms import EditUserForm, InviteUserForm, UserFilterForm


def institution_choices():
    rows = db.session.execute(select(PartnerInstitution.id, PartnerInstitution.name)
                              .order_by(PartnerInstitution.name))
    return [(row.id, row.name) for row in rows]


@bp.get("/users")
@admin_required
def users():
    filters = UserFilterForm(request.args)
    role = Role(filters.role.data) if filters.role.data in Role.__members__ else None
    query = accounts.search_users(filters.q.data, role)
    if filters.active_only.data:
        query = query.where(User.is_active_account.is_(True))
    page = paginate(query, per_page=25)
    return render_template("admin/users.html", page=page, filters=filters, action_form=EmptyForm())


@bp.route("/users/invite", methods=["GET", "POST"])
@admin_required
def invite():
    form = InviteUserForm(institutions=institution_choices())
    if form.validate_on_submit():
        outcome = attempt(lambda: accounts.invite_user(form.email.data, form.name.data, Role(form.role.data),
                                                       form.institution_id.data, invited_by=current_user),
                          form=form, field="email",
                          success=lambda user: _("An invitation has been sent to %(email)s.", email=user.email))
        if outcome:
            return redirect(url_for("admin.users"))
    return render_template("admin/invite.html", form=form), form_status(form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id):
    user = db.get_or_404(User, user_id)
    form = EditUserForm(obj=user, institutions=institution_choices())
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        outcome = attempt(lambda: accounts.change_role(user, Role(form.role.data), form.institution_id.data,
                                                       by=current_user),
                          form=form, field="role",
                          success=lambda _result: _("The account of %(name)s has been updated.", name=user.name))
        if outcome:
            return redirect(url_for("admin.users"))
    return render_template("admin/edit_user.html", user=user, form=form, action_form=EmptyForm()), form_status(form)


@bp.post("/users/<int:user_id>/active")
@admin_required
def set_active(user_id):
    user = db.get_or_404(User, user_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        flash(_("Your form had expired. Please try again."), "error")
        return redirect(url_for("admin.edit_user", user_id=user.id)), 303
    activate = request.form.get("active") == "1"
    attempt(lambda: accounts.set_active(user, activate, by=current_user),
            success=lambda _result: _("%(name)s can log in again.", name=user.name) if activate
            else _("%(name)s has been deactivated and signed out everywhere.", name=user.name))
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.get("/audit")
@admin_required
def audit_log():
    from ..core.audit import AuditEvent
    action = request.args.get("action") or None
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    page = paginate(query, per_page=50)
    return render_template("admin/audit.html", page=page, action=action)


from ..core.i18n import lazy_gettext as _l  # noqa: E402
from ..core.navigation import nav_item  # noqa: E402

nav_item("admin.users", _l("Users"), roles=[Role.admin], order=90, match_prefix="/admin")
