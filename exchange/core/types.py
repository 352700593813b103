"""Column types and time helpers shared by every domain."""
from datetime import datetime, timezone

from sqlalchemy import DateTime, Enum
from sqlalchemy.types import TypeDecorator


def enum_column(enum_class, name: str, length: int) -> Enum:
    """The column type of every enum: its values in a VARCHAR(`length`), no native type and no CHECK (adding a
    member needs no migration). `name` names the type (and a constraint, should one be asked for)."""
    return Enum(enum_class, name=name, native_enum=False, length=length,
                values_callable=lambda members: [m.value for m in members])


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored as naive UTC, so SQLite and PostgreSQL behave alike.

    Values written must be aware (naive values are taken as UTC); values read come back aware in UTC.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def to_utc(value: datetime | None, tz=None) -> datetime | None:
    """A naive date-time typed in the viewer's time zone (or `tz`) → aware UTC; aware values are converted."""
    if value is None:
        return None
    if value.tzinfo is None:
        if tz is None:
            from flask_babel import get_timezone
            tz = get_timezone()
        value = tz.localize(value) if hasattr(tz, "localize") else value.replace(tzinfo=tz)
    return value.astimezone(timezone.utc)


def to_local(value: datetime | None, tz=None) -> datetime | None:
    """Aware UTC → naive wall-clock time in the viewer's time zone (or `tz`), as a datetime-local input shows."""
    if value is None:
        return None
    if tz is None:
        from flask_babel import get_timezone
        tz = get_timezone()
    return value.astimezone(tz).replace(tzinfo=None)
