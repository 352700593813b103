"""Pages of the cultural programme: finding events, registering, the organiser's tools and check-in."""
from datetime import date, datetime, time, timedelta, timezone

import segno
from babel.dates import format_skeleton
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from ..core.i18n import gettext as _
from ..core.i18n import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.permissions import public, scoped_first_or_404, staff_required
from ..core.actions import attempt
from ..core.dashboard import Panel, panel
from ..core.errors import WorkflowError
from ..core.i18n import locale_of, sentence_case
from ..core.mail import external_url
from ..core.navigation import nav_item
from ..core.types import utcnow
from ..core.uploads import delete_upload, save_image, send_upload
from ..core.pagination import paginate_rows
from ..core.reference import country_choices
from ..core.forms import EmptyForm, form_status
from ..extensions import db
from ..partners.models import PartnerInstitution
from . import bp, display, ical, monthgrid, services
from .forms import (CancelEventForm, CheckInForm, EventFilterForm, EventForm, MessageForm, QuestionForm,
                    UndoCheckInForm, registration_form)
from .markup import render_markdown
from .models import Audience, Event, EventCategory, EventStatus, QuestionKind, Registration, RegistrationStatus


@bp.context_processor
def _helpers():
    return {"event_when": lambda event: display.when(event.starts_at, event.ends_at),
            "event_time": lambda value: display.short_time(value),
            "local_part": display.local_part, "now": utcnow(),
            "markdown": render_markdown, "can_manage_events": services.can_manage(current_user),
            "call_label": services.call_label}  # takes a loaded Call (event.call, eager-loaded)


def _visible_event(event_id: int) -> Event:
    return scoped_first_or_404(services.event_query_for(current_user, event_id))


def _managed_event(event_id: int) -> Event:
    """Staff only (checked by the decorator before this look-up)."""
    return scoped_first_or_404(select(Event).where(Event.id == event_id).options(*services.event_page_options()))


def _ics_response(events, filename: str, name: str | None = None) -> Response:
    response = Response(ical.calendar_bytes(events, name=name), mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Finding events ----------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    filters = EventFilterForm(request.args)
    category = filters.selected(EventCategory, filters.category)
    audience = filters.selected(Audience, filters.audience)
    when_ = "past" if filters.when.data == "past" else "upcoming"
    page = paginate_rows(services.list_rows_query(current_user, when_, category, audience), per_page=20)
    return render_template("events/index.html", page=page, filters=filters, when=when_)


def _parse_month(value: str | None, today: date) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 1900 <= year <= 2200 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    return today.year, today.month


@bp.get("/calendar")
@login_required
def calendar():
    filters = EventFilterForm(request.args)
    category = filters.selected(EventCategory, filters.category)
    audience = filters.selected(Audience, filters.audience)
    tz = display.zone()
    locale = display.viewer_locale()
    today = utcnow().astimezone(tz).date()
    year, month = _parse_month(request.args.get("month"), today)
    first_weekday = locale.first_week_day
    first_shown, last_shown = monthgrid.grid_bounds(year, month, first_weekday)
    start = datetime.combine(first_shown, time.min, tz).astimezone(timezone.utc)
    end = datetime.combine(last_shown + timedelta(days=1), time.min, tz).astimezone(timezone.utc)
    events = services.month_rows(current_user, start, end, category, audience)
    entries = [(e.starts_at.astimezone(tz).date(), (e.ends_at - timedelta(microseconds=1)).astimezone(tz).date(), e)
               for e in events]
    weeks = monthgrid.month_grid(year, month, entries, today, first_weekday)
    first_days = {event.id: first_day for first_day, _last, event in entries}
    day_names = locale.days["format"]["abbreviated"]
    weekdays = [day_names[(first_weekday + i) % 7] for i in range(7)]
    prev_year, prev_month = monthgrid.shift_month(year, month, -1)
    next_year, next_month = monthgrid.shift_month(year, month, 1)
    args = {k: v for k, v in request.args.items() if k in ("category", "audience") and v}
    return render_template(
        "events/calendar.html", weeks=weeks, weekdays=weekdays, filters=filters, args=args,
        month_label=sentence_case(format_skeleton("yMMMM", date(year, month, 1), locale=locale)),
        prev_month=f"{prev_year:04d}-{prev_month:02d}", next_month=f"{next_year:04d}-{next_month:02d}",
        this_month=f"{today.year:04d}-{today.month:02d}", is_this_month=(year, month) == (today.year, today.month),
        first_days=first_days,
        day_labels={day.date: display.long_date(day.date, locale) for week in weeks for day in week})


@bp.get("/calendar.ics")
@login_required
def calendar_ics():
    filters = EventFilterForm(request.args)
    events = services.feed_events(current_user, category=filters.selected(EventCategory, filters.category),
                                  audience=filters.selected(Audience, filters.audience))
    return _ics_response(events, "events.ics", name=_("Cultural programme"))


# --- A private feed for calendar apps -----------------------------------------------------------------

@bp.get("/subscribe")
@login_required
def subscribe():
    feed = external_url("events.feed", token=current_user.calendar_token) if current_user.calendar_token else None
    return render_template("events/subscribe.html", feed=feed, form=EmptyForm())


@bp.post("/subscribe")
@login_required
def subscribe_change():
    action = request.form.get("action")
    if not EmptyForm().validate_on_submit() or action not in ("new", "remove"):
        abort(400)
    if action == "remove":
        services.remove_calendar_token(current_user)
        message = _("Your calendar link has been removed. Calendar apps that used it get nothing new.")
    else:
        replaced = current_user.calendar_token is not None
        services.new_calendar_token(current_user)
        message = (_("You have a new calendar link. The old one no longer works: subscribe again with this one.")
                   if replaced else _("Your calendar link is ready. Add it to your calendar app."))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("events.subscribe"), code=303)


@bp.get("/feed/<token>.ics")
@public
def feed(token):
    """The programme as the owner of the link sees it, for calendar apps (which cannot sign in): the secret link
    stands in for the session, so it shows only what its owner may see, and stops with the account."""
    user = services.calendar_feed_user(token)
    if user is None:
        abort(404)
    with force_locale(locale_of(user)):
        body = ical.calendar_bytes(services.feed_events(user), name=_("Cultural programme"))
    response = Response(body, mimetype=ical.ICS_MIMETYPE)
    response.headers["Cache-Control"] = "private, max-age=900"
    return response


@bp.get("/mine")
@login_required
def mine():
    now = utcnow()
    rows = services.registrations_of_user(current_user, now)
    upcoming = [row for row in rows if row[1].ends_at >= now and row[0].is_active]
    upcoming.reverse()
    past = [row for row in rows if row[1].ends_at < now and row[0].is_active]
    return render_template("events/mine.html", upcoming=upcoming, past=past)


# --- One event: reading, registering, cancelling ----------------------------------------------------

def _qr_data_uri(event: Event, registration: Registration) -> str:
    link = external_url("events.checkin", event_id=event.id, code=registration.checkin_code)
    return segno.make(link, error="m").svg_data_uri(scale=5, border=2, dark="#1b2430", light="#ffffff")


def _render_detail(event: Event, form=None, status: int = 200, error: str | None = None):
    now = utcnow()
    registration = services.registration_of(event.id, current_user.id)
    if registration is not None and not registration.is_active:
        registration = None
    seats = services.seat_counts([event.id])[event.id]
    problem = services.registration_problem(event, current_user, now, registration)
    return render_template(
        "events/detail.html", event=event, registration=registration, seats=seats,
        seats_left=services.seats_left(event, seats), problem=problem, error=error,
        form=form or registration_form(event.questions),
        position=services.waitlist_position(registration) if registration else None,
        qr=_qr_data_uri(event, registration) if registration and registration.is_confirmed else None,
        is_past=event.ends_at < now, now=now), status


@bp.get("/<int:event_id>")
@login_required
def detail(event_id):
    return _render_detail(_visible_event(event_id))


@bp.get("/<int:event_id>.ics")
@login_required
def event_ics(event_id):
    event = _visible_event(event_id)
    return _ics_response([event], ical.filename_for(event))


@bp.get("/<int:event_id>/cover")
@login_required
def cover(event_id):
    event = _visible_event(event_id)
    if not event.cover_image:
        return render_template("errors/error.html", code=404, title=_("Page not found"),
                               message=_("This event has no cover image.")), 404
    return send_upload(event.cover_image, event.cover_mimetype, f"event-{event.id}-cover")


@bp.post("/<int:event_id>/register")
@login_required
def register(event_id):
    event = _visible_event(event_id)
    form = registration_form(event.questions, formdata=request.form)
    if not form.validate():
        return _render_detail(event, form=form, status=422)
    user = current_user._get_current_object()
    outcome = attempt(lambda: services.register(event.id, user, form.answers()), form=form,
                      on_error="none", commit=services.commit_with_retry)  # the page shows the message
    if not outcome:
        return _render_detail(event, form=form, status=outcome.status, error=outcome.message)
    if outcome.value.status is RegistrationStatus.confirmed:
        flash(_("You are registered. We have emailed you the details and a calendar file."), "success")
    else:
        flash(_("The event is full: you are on the waitlist. We will email you if a seat frees up."), "info")
    return redirect(url_for("events.detail", event_id=event.id), code=303)


@bp.post("/<int:event_id>/cancel-registration")
@login_required
def cancel_registration(event_id):
    event = _visible_event(event_id)
    user = current_user._get_current_object()
    outcome = attempt(lambda: services.cancel_registration(event.id, user), on_error="none",
                      commit=services.commit_with_retry, success=_("Your registration has been cancelled."))
    if not outcome:
        return _render_detail(event, status=outcome.status, error=outcome.message)
    return redirect(url_for("events.detail", event_id=event.id), code=303)


# --- Creating and editing (staff) ---------------------------------------------------------------------

def _event_form(**kwargs) -> EventForm:
    institutions = db.session.execute(select(PartnerInstitution.id, PartnerInstitution.name)
                                      .order_by(PartnerInstitution.name)).all()
    return EventForm(calls=services.call_choices(), institutions=[tuple(row) for row in institutions],
                     countries=country_choices(), **kwargs)


def _event_data(form: EventForm) -> services.EventData:
    tz = display.zone()
    return services.EventData(
        title=form.title.data, description=form.description.data or "",
        category=EventCategory(form.category.data),
        starts_at=display.from_local_naive(form.starts_at.data, tz),
        ends_at=display.from_local_naive(form.ends_at.data, tz),
        venue=form.venue.data or None, online_url=form.online_url.data or None, capacity=form.capacity.data,
        registration_opens_at=display.from_local_naive(form.registration_opens_at.data, tz),
        registration_closes_at=display.from_local_naive(form.registration_closes_at.data, tz),
        audience=Audience(form.audience.data), call_id=form.call_id.data,
        partner_institution_id=form.partner_institution_id.data, country=form.country.data or None)


def _fill_local_times(form: EventForm, event: Event) -> None:
    tz = display.zone()
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        getattr(form, name).data = display.to_local_naive(getattr(event, name), tz)
    form.category.data = event.category.value
    form.audience.data = event.audience.value


def _save_event(form: EventForm, event: Event | None):
    """Store the cover (if any), then create or update; returns (event, promoted)."""
    stored = None
    data = _event_data(form)
    user = current_user._get_current_object()
    try:
        if form.cover.data and getattr(form.cover.data, "filename", ""):
            stored = save_image(form.cover.data, field="cover")
        if event is None:
            def action():
                return services.create_event(data, by=user, cover=stored), []
        else:
            def action():
                return event, services.update_event(event, data, by=user, cover=stored,
                                                    remove_cover=form.remove_cover.data)
        return services.commit_with_retry(action)
    except WorkflowError:
        if stored is not None:
            delete_upload(stored.stored_name)
        raise


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def create():
    form = _event_form()
    status = form_status(form)
    if form.validate_on_submit():
        outcome = attempt(lambda: _save_event(form, None), form=form,
                          success=_("The event has been saved as a draft. Publish it when it is ready."))
        if outcome:
            event, _promoted = outcome.value
            return redirect(url_for("events.detail", event_id=event.id), code=303)
        status = outcome.status
    return render_template("events/form.html", form=form, event=None), status


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(event_id):
    event = _managed_event(event_id)
    form = _event_form(obj=event)
    if not form.is_submitted():
        _fill_local_times(form, event)
    status = form_status(form)
    if form.validate_on_submit():
        outcome = attempt(lambda: _save_event(form, event), form=form, success=_("The event has been saved."))
        if outcome:
            event, promoted = outcome.value
            if promoted:
                flash(_("%(count)s people moved up from the waitlist and have been told.", count=len(promoted)), "info")
            return redirect(url_for("events.detail", event_id=event.id), code=303)
        status = outcome.status
    return render_template("events/form.html", form=form, event=event), status


@bp.post("/<int:event_id>/publish")
@staff_required
def publish(event_id):
    event = _managed_event(event_id)
    outcome = attempt(lambda: services.publish_event(event, by=current_user), on_error="none",
                      success=_("The event is published."))
    if not outcome:
        return _render_detail(event, status=outcome.status, error=outcome.message)
    return redirect(url_for("events.detail", event_id=event.id), code=303)


@bp.route("/<int:event_id>/cancel", methods=["GET", "POST"])
@staff_required
def cancel(event_id):
    event = _managed_event(event_id)
    form = CancelEventForm()
    status = form_status(form)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        outcome = attempt(lambda: services.cancel_event(event, form.reason.data, by=user),
                          commit=services.commit_with_retry,
                          success=lambda told: _("The event is cancelled. %(count)s people have been told.",
                                                 count=told))
        if outcome:
            return redirect(url_for("events.detail", event_id=event.id), code=303)
        status = outcome.status
    counts = services.seat_counts([event.id])[event.id]
    return render_template("events/cancel.html", event=event, form=form, seats=counts), status


# --- Organiser's tools (staff) ------------------------------------------------------------------------

@bp.get("/<int:event_id>/registrations")
@staff_required
def registrations(event_id):
    event = _managed_event(event_id)
    rows = services.registrations_for(event.id)
    confirmed = [r for r in rows if r.status is RegistrationStatus.confirmed]
    confirmed.sort(key=lambda r: (r.user.name.lower(), r.id))
    waiting = [r for r in rows if r.status is RegistrationStatus.waitlisted]
    cancelled = [r for r in rows if r.status is RegistrationStatus.cancelled]
    seats = services.seat_counts([event.id])[event.id]
    return render_template("events/registrations.html", event=event, confirmed=confirmed, waiting=waiting,
                           cancelled=cancelled, seats=seats, seats_left=services.seats_left(event, seats))


@bp.get("/<int:event_id>/registrations.csv")
@staff_required
def registrations_csv(event_id):
    event = _managed_event(event_id)
    body = "\ufeff" + services.registrations_csv(event, services.registrations_for(event.id))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="event-{event.id}-registrations.csv"'
    return response


@bp.route("/<int:event_id>/questions", methods=["GET", "POST"])
@staff_required
def questions(event_id):
    event = _managed_event(event_id)
    form = QuestionForm()
    status = form_status(form)
    if form.validate_on_submit():
        outcome = attempt(lambda: services.add_question(event, form.label.data, QuestionKind(form.kind.data),
                                                        form.options.data, form.is_required.data),
                          form=form, success=_("The question has been added."))
        if outcome:
            return redirect(url_for("events.questions", event_id=event.id), code=303)
        status = outcome.status
    return render_template("events/questions.html", event=event, form=form), status


@bp.post("/<int:event_id>/questions/<int:question_id>/delete")
@staff_required
def delete_question(event_id, question_id):
    event = _managed_event(event_id)
    outcome = attempt(lambda: services.delete_question(event, question_id),
                      success=_("The question and its answers have been removed."))
    if not outcome:
        return render_template("events/questions.html", event=event, form=QuestionForm(formdata=None)), outcome.status
    return redirect(url_for("events.questions", event_id=event.id), code=303)


@bp.route("/<int:event_id>/message", methods=["GET", "POST"])
@staff_required
def message(event_id):
    event = _managed_event(event_id)
    form = MessageForm()
    status = form_status(form)
    if form.validate_on_submit():
        outcome = attempt(lambda: services.message_registrants(event, form.subject.data, form.body.data,
                                                               form.include_waitlist.data, by=current_user),
                          success=lambda sent: _("Your message has been sent to %(count)s people.", count=sent))
        if outcome:
            return redirect(url_for("events.registrations", event_id=event.id), code=303)
        status = outcome.status
    seats = services.seat_counts([event.id])[event.id]
    return render_template("events/message.html", event=event, form=form, seats=seats), status


def _render_checkin(event: Event, form: CheckInForm, status: int = 200, found: Registration | None = None,
                    error: str | None = None):
    rows = [r for r in services.registrations_for(event.id) if r.status is RegistrationStatus.confirmed]
    rows.sort(key=lambda r: (r.checked_in_at is not None, r.user.name.lower(), r.id))
    arrived = sorted((r for r in rows if r.checked_in_at), key=lambda r: r.checked_in_at, reverse=True)
    return render_template("events/checkin.html", event=event, form=form, attendees=rows, arrived=arrived,
                           found=found, error=error, not_open=services.checkin_not_open(event)), status


@bp.route("/<int:event_id>/checkin", methods=["GET", "POST"])
@staff_required
def checkin(event_id):
    """Type a code, or open the link in a participant's QR code (a phone's camera app does)."""
    event = _managed_event(event_id)
    if request.method == "GET":
        form = CheckInForm(formdata=None)
        code = request.args.get("code", "")
        if not code:
            return _render_checkin(event, form)
        form.code.data = services.normalise_code(code)
        found = services.find_by_code(code)
        problem = services.check_in_problem(event, found)
        if problem is not None:
            form.code.errors = [problem.message]
            return _render_checkin(event, form, status=problem.status)
        return _render_checkin(event, form, found=found)
    form = CheckInForm()
    if not form.validate_on_submit():
        return _render_checkin(event, form, status=422)
    outcome = attempt(lambda: services.check_in_code(event, form.code.data, by=current_user), form=form, field="code",
                      success=lambda registration: _("%(name)s has checked in.", name=registration.user.name))
    if not outcome:
        return _render_checkin(event, form, status=outcome.status)
    return redirect(url_for("events.checkin", event_id=event.id), code=303)


def _registration_in(event: Event, registration_id: int) -> Registration:
    return scoped_first_or_404(select(Registration).where(Registration.id == registration_id,
                                                          Registration.event_id == event.id))


def _change_checkin(event_id: int, registration_id: int, action, message, category: str):
    """Check a registration in from the attendee list, then back to the check-in page."""
    event = _managed_event(event_id)
    registration = _registration_in(event, registration_id)
    outcome = attempt(lambda: action(event, registration, by=current_user), on_error="none",
                      success=lambda _result: message(registration.user.name), category=category)
    if not outcome:
        return _render_checkin(event, CheckInForm(formdata=None), status=outcome.status, error=outcome.message)
    return redirect(url_for("events.checkin", event_id=event.id), code=303)


@bp.post("/<int:event_id>/checkin/<int:registration_id>")
@staff_required
def checkin_registration(event_id, registration_id):
    return _change_checkin(event_id, registration_id, services.check_in,
                           lambda name: _("%(name)s has checked in.", name=name), "success")


@bp.route("/<int:event_id>/checkin/<int:registration_id>/undo", methods=["GET", "POST"])
@staff_required
def undo_checkin(event_id, registration_id):
    """Take back a check-in, with a reason (kept in the audit log)."""
    event = _managed_event(event_id)
    registration = _registration_in(event, registration_id)
    form = UndoCheckInForm()
    status, error = form_status(form), None
    if form.validate_on_submit():
        outcome = attempt(lambda: services.undo_check_in(event, registration, by=current_user, reason=form.reason.data),
                          form=form, on_error="none", category="info",
                          success=lambda _result: _("The check-in of %(name)s has been undone.",
                                                    name=registration.user.name))
        if outcome:
            return redirect(url_for("events.checkin", event_id=event.id), code=303)
        status, error = outcome.status, (None if outcome.error.field in form else outcome.message)
    return render_template("events/undo_checkin.html", event=event, registration=registration, form=form,
                           error=error, kept_because=services.checkin_kept_because(registration)), status


# --- Navigation and the home page ---------------------------------------------------------------------

nav_item("events.index", _l("Events"), order=40, match_prefix="/events")


@panel(order=40)
def events_panel(user):
    """The user's upcoming registrations and waitlist positions; staff also see what needs publishing."""
    summary = services.home_summary(user, utcnow(), limit=5)
    items = [{"id": row.id, "title": row.title, "when": display.when(row.starts_at, row.ends_at),
              "status": row.status.value, "status_label": row.status.label, "position": row.position}
             for row in summary.upcoming]
    context = {"items": items, "open_count": summary.open_count}
    if summary.draft_count is not None:
        context["draft_count"] = summary.draft_count
    return Panel("events/_panel.html", context)

