"""iCalendar (RFC 5545) files for one event or the whole programme, with the `icalendar` package."""
from datetime import timezone
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar
from icalendar import Event as ICalEvent

from ..core.mail import external_url
from ..core.types import utcnow
from .markup import plain_text
from .models import Event, EventStatus

PRODID = "-//International Office//Exchange platform events//EN"
ICS_MIMETYPE = "text/calendar"


def _host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "exchange.local"


def uid_for(event: Event) -> str:
    return f"event-{event.id}@{_host()}"


def component(event: Event) -> ICalEvent:
    item = ICalEvent()
    url = external_url("events.detail", event_id=event.id)
    item.add("uid", uid_for(event))
    item.add("dtstamp", utcnow().replace(microsecond=0))
    item.add("dtstart", event.starts_at.astimezone(timezone.utc))
    item.add("dtend", event.ends_at.astimezone(timezone.utc))
    item.add("summary", event.title)
    description = plain_text(event.description, limit=2000)
    if event.online_url:
        description = f"{description}\n\n{event.online_url}".strip()
    item.add("description", f"{description}\n\n{url}".strip())
    location = event.venue or event.online_url
    if location:
        item.add("location", location)
    item.add("url", url)
    item.add("categories", [event.category.value])
    item.add("sequence", event.sequence or 0)
    item.add("status", {EventStatus.published: "CONFIRMED", EventStatus.cancelled: "CANCELLED",
                        EventStatus.draft: "TENTATIVE"}[event.status])
    if event.updated_at:
        item.add("last-modified", event.updated_at.astimezone(timezone.utc).replace(microsecond=0))
    return item


def calendar_bytes(events, name: str | None = None) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(component(event))
    return cal.to_ical()


def filename_for(event: Event) -> str:
    return f"event-{event.id}.ics"
