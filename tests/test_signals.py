"""exchange/signals.py: every signal says when it fires, and create_app connects each receiver once."""
from blinker import Signal

from exchange import create_app, signals
from exchange.config import TestConfig


def all_signals() -> dict[str, Signal]:
    return {name: value for name, value in vars(signals).items() if isinstance(value, Signal)}


def receiver_names(signal: Signal) -> list[str]:
    """The receivers (connected with weak=False, so blinker holds the functions themselves)."""
    return sorted(f"{fn.__module__}.{fn.__qualname__}" for fn in signal.receivers.values())


def test_every_signal_says_when_it_fires_with_what():
    found = all_signals()
    assert set(found) >= {"application_status_changed", "nomination_ended", "password_changed",
                          "checkin_removal_requested", "partner_document_access"}
    for name, signal in found.items():
        assert signal.__doc__ and "Sender" in signal.__doc__, name


def test_create_app_connects_each_receiver_once(app):
    create_app(TestConfig)  # a second app connects nothing twice
    assert {name: receiver_names(signal) for name, signal in all_signals().items()} == {
        "application_status_changed": ["exchange.certificates.services._revoke_placement_letter",
                                       "exchange.placements.nominations.follow_application_status"],
        "nomination_ended": ["exchange.certificates.services._revoke_letter_of_nomination"],
        "password_changed": ["exchange.events.services._renew_calendar_link"],
        "checkin_removal_requested": ["exchange.certificates.services._certificate_resting_on"],
        "partner_document_access": ["exchange.placements.incoming.partner_document_rule"],
    }
