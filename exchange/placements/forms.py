"""Forms of the placements domain: publishing, manual moves, answers to offers, nominations."""

from ..core.i18n import lazy_gettext as _l
from wtforms import BooleanField, DateField, DateTimeLocalField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..applications.labels import DOCUMENT_LABELS
from ..auth.forms import REQUIRED
from ..core.forms import AppForm, LooseSelectField, NoControlCharacters, strip_filter
from ..core.reference import academic_year_label
from .labels import PARTNER_STATUS
from .models import REASON_MAX


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def reason_field(label, required=True, description=None):
    validators = [Length(max=REASON_MAX, message=_l("Use at most %(max)d characters.", max=REASON_MAX)),
                  NoControlCharacters()]
    validators.insert(0, DataRequired(message=REQUIRED) if required else Optional())
    return TextAreaField(label, filters=[strip_filter], validators=validators, description=description,
                         render_kw={"maxlength": REASON_MAX, "rows": 3})


class PublishForm(AppForm):
    deadline = DateTimeLocalField(_l("Students answer by"), format="%Y-%m-%dT%H:%M",
                                  validators=[InputRequired(message=REQUIRED)],
                                  description=_l("In your time zone. Offers not answered by then expire and "
                                                 "their seats go to the next round."))


class MoveForm(AppForm):
    place = LooseSelectField(_l("Move to"))
    reason = reason_field(_l("Why"), description=_l("Kept with the run and shown to other coordinators."))
    confirm = BooleanField(_l("I have read the warnings and want to make this change"))

    def __init__(self, *args, places=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.place.choices = [("none", _l("No place (take the student out)"))] + list(places)

    def validate_place(self, field):
        if not field.data:
            raise ValidationError(REQUIRED)


def document_choices(application):
    return [(d.kind.value, f"{DOCUMENT_LABELS[d.kind]} ({d.original_name})") for d in application.documents]


class RespondForm(AppForm):
    documents = MultiCheckboxField(_l("Documents the partner university may see"),
                                   description=_l("Only what you tick is sent with your nomination. You can "
                                                  "change this later on this page."))

    def __init__(self, *args, application=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.documents.choices = document_choices(application) if application is not None else []


class SharingForm(RespondForm):
    pass


class NominateForm(AppForm):
    planned_arrival = DateField(_l("Planned arrival"), validators=[InputRequired(message=REQUIRED)])
    planned_departure = DateField(_l("Planned departure"), validators=[InputRequired(message=REQUIRED)])

    def validate_planned_departure(self, field):
        if self.planned_arrival.data and field.data and field.data <= self.planned_arrival.data:
            raise ValidationError(_l("The departure must be after the arrival."))


class CancelNominationForm(AppForm):
    reason = reason_field(_l("Why is the nomination cancelled?"))


class RejectForm(AppForm):
    reason = reason_field(_l("Reason for rejecting"),
                          description=_l("Sent to the student and to the sending coordinator."))


class IncomingFilterForm(AppForm):
    class Meta:
        csrf = False

    year = LooseSelectField(_l("Academic year"), validators=[Optional()])
    status = LooseSelectField(_l("Status"), validators=[Optional()])

    def __init__(self, *args, years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.year.choices = [("", _l("All years"))] + [(str(y), academic_year_label(y)) for y in years]
        self.status.choices = [("", _l("All statuses"))] + [(s.value, label) for s, label in PARTNER_STATUS.items()]
