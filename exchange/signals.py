"""How one domain reacts to another: the platform's signals, all in one place.

A domain that something happens to sends a signal from here; a domain that must follow connects a receiver in
its ``connect_signals()``, which ``create_app`` calls for every domain in one visible list. The sender does not
import its listeners, so the dependency runs one way only (e.g. certificates and placements follow the
applications workflow; the applications domain knows neither).

Receivers run inside the sender's transaction: they mutate and ``flush()`` like a service, never commit, and
raise ``WorkflowError`` to refuse (the caller rolls back). Connect them with ``weak=False`` (blinker ignores a
second connection of the same function, so calling ``connect_signals()`` once per app is harmless).
"""
from blinker import Namespace

_signals = Namespace()

application_status_changed = _signals.signal("application-status-changed", doc="""\
Sent by ``applications.services.transition()`` after an application moved along the workflow and the change
was flushed (before the student is e-mailed).

Sender: the ``Application``. Keywords: ``change`` (the new ``StatusChange``: ``from_status``, ``to_status``,
``by_id``, ``comment``), ``by`` (the ``User`` acting, or None for the system).
Placements keep the offer and nomination in step; certificates revoke a withdrawn student's placement letter.
""")

nomination_ended = _signals.signal("nomination-ended", doc="""\
Sent by ``placements.nominations`` after a nomination was cancelled by the sending side or rejected by the
partner (flushed; the partner no longer sees the student).

Sender: the ``Nomination``. Keywords: ``by`` (the ``User`` acting), ``reason`` (a translated sentence saying
why, for the records). Certificates revoke the placement letter issued for the nomination's application.
""")

password_changed = _signals.signal("password-changed", doc="""\
Sent by ``auth.services`` after a user chose a new password (changed it, or set it through a reset link) and
every session of theirs ended.

Sender: the ``User``. Events give them a new private calendar link if they had one (someone who knew the old
password may have copied it).
""")

checkin_removal_requested = _signals.signal("checkin-removal-requested", doc="""\
Sent by ``events.services.checkin_kept_because()`` before an event check-in is undone.

Sender: the ``Registration``. A receiver returns why the check-in must stay (a translated message), or None.
Certificates answer for a valid certificate of participation that rests on the check-in.
""")

partner_document_access = _signals.signal("partner-document-access", doc="""\
Sent by ``applications.access.partner_may_see_document()`` when a partner user who may see an application
asks for one of its documents.

Sender: the ``ApplicationDocument``. Keywords: ``user`` (the partner ``User``), ``application``.
A receiver returns True (may open) or False. Access is granted only when at least one receiver answers and
every answer is True: when nothing answers, the partner is denied. Placements answer with the documents the
student agreed to share with that partner (``placements.incoming.partner_document_rule``).
""")
