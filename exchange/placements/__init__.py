"""Placements: matching runs, offers, nominations and the partner universities' portal.

The pure algorithm lives in ``exchange.matching``; this package turns the database into its plain input,
stores the result, publishes offers, and carries the nominations to the receiving partners.
``flask placements expire-offers`` (this blueprint's CLI group) expires offers past their deadline.

The services are plain functions over the models, one module per concern: ``runs`` (the input and the runs),
``adjustments``, ``comparison``, ``offers`` (publishing and offers), ``nominations`` (and keeping offers and
nominations in step with the application's status), ``incoming`` (the partner's side), ``student`` (what the
student sees), and the read side: ``queries`` (pages' summaries) and ``panels`` (home page panels). No request,
no flash: services mutate, flush, and raise WorkflowError when a rule forbids the action. The caller commits.

Public API for other domains
----------------------------
* ``student.placement_summary(application)`` – for an accepted (and nominated) application: partner, place,
  field, level, academic year, period, planned arrival and departure, nomination status; None when not placed.
* ``nominations.active_nomination(application)`` / ``nominations.nominations_by_application(ids)`` – the
  Nomination rows.
* ``student.student_outcome(application)`` – what the student sees: score, and per choice why (not) obtained.
"""
from flask import Blueprint

bp = Blueprint("placements", __name__, cli_group="placements")


def connect_signals() -> None:
    """Follow the applications domain (called once by create_app): offers and nominations keep in step with the
    application's status, and partners open only the documents the student agreed to share with them."""
    from .. import signals
    from .incoming import partner_document_rule
    from .nominations import follow_application_status
    signals.application_status_changed.connect(follow_application_status, weak=False)
    signals.partner_document_access.connect(partner_document_rule, weak=False)
