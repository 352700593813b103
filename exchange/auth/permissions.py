"""The one permission mechanism: role decorators and scoped look-ups used by every blueprint.

Anonymous users are sent to the login page; a wrong role gets 403; another person's record is a 404,
exactly like a record that does not exist.
"""
from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required

from ..core import audit
from ..extensions import db
from .models import STAFF, Role


def deny(status: int = 403):
    """Record the denial in the audit log, then abort."""
    audit.record("access_denied", detail=f"{request.method} {request.path} -> {status}")
    db.session.commit()
    abort(status)


def role_required(*roles: Role):
    """Allow only signed-in users with one of the roles (administrators count as staff only when listed)."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                deny(403)
            return view(*args, **kwargs)
        wrapped.allowed_roles = roles  # read by the access-matrix tests
        return wrapped
    return decorator


def staff_required(view):
    """Coordinators and administrators."""
    return role_required(*STAFF)(view)


def admin_required(view):
    return role_required(Role.admin)(view)


def scoped_first_or_404(query):
    """Run a query already narrowed to what the user may see; nothing found is a 404 (audited)."""
    obj = db.session.scalars(query.limit(1)).first()
    if obj is None:
        audit.record("not_found_or_denied", detail=f"{request.method} {request.path}")
        db.session.commit()
        abort(404)
    return obj


def public(view):
    """Mark a view as open to visitors who are not signed in (checked by the access-matrix test)."""
    view.is_public = True
    return view
