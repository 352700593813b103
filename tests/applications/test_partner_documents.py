"""Which documents a partner may open is asked through `signals.partner_document_access`: no answer, no access."""
from exchange import signals
from exchange.applications import access, services
from exchange.applications.workflow import ApplicationStatus as S
from exchange.auth.models import Role

from tests.fixtures.applications import walk


def nominated_partner(db, world, make_user):
    application = world.bob_app
    partner = make_user(Role.partner, institution_id=application.choices[0].place.partner.id)
    walk(application, S.placed, staff=world.coordinator)
    services.mark_nominated(application)
    db.session.commit()
    return application, partner


def test_the_placements_rule_answers(db, applications_world, make_user):
    application, partner = nominated_partner(db, applications_world, make_user)
    transcript, _cv = application.documents
    assert signals.partner_document_access.receivers  # connected by create_app
    assert access.partner_may_see_document(partner, application, transcript)


def test_access_denies_partner_documents_when_no_rule_answers(client, db, auth, applications_world, make_user):
    application, partner = nominated_partner(db, applications_world, make_user)
    transcript, cv = application.documents
    auth.login(partner)
    assert client.get(f"/applications/{application.id}/documents/{transcript.id}").status_code == 200
    with signals.partner_document_access.muted():
        assert not access.partner_may_see_document(partner, application, transcript)
        assert client.get(f"/applications/{application.id}/documents/{transcript.id}").status_code == 404
        assert client.get(f"/applications/{application.id}/documents/{cv.id}").status_code == 404
    assert client.get(f"/applications/{application.id}/documents/{cv.id}").status_code == 200


def test_one_refusal_is_enough(db, applications_world, make_user):
    application, partner = nominated_partner(db, applications_world, make_user)
    transcript, _cv = application.documents

    def never(document, **kwargs):
        return False
    with signals.partner_document_access.connected_to(never):
        assert not access.partner_may_see_document(partner, application, transcript)
