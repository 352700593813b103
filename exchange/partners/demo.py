"""Demo institutions, contacts and agreements (idempotent: running it twice changes nothing).

Adds to the context:
  context["home"]        the HomeInstitution
  context["users"]       role value → demo User (the partner user belongs to Università di Bologna)
  context["partners"]    SCHAC code → PartnerInstitution (every demo partner)
  context["agreements"]  list of the demo Agreements (with their conditions), in the order below
"""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..auth.demo import seed_users
from ..core.types import utcnow
from ..extensions import db
from . import services
from .models import (Agreement, AgreementStatus, Direction, HomeInstitution, MobilityType, PartnerContact,
                     PartnerInstitution, current_academic_year)

OUT, IN = Direction.outgoing, Direction.incoming

# name, country, city, website, SCHAC, Erasmus code, contacts [(name, role, email, phone)]
PARTNERS = [
    ("Università di Bologna", "IT", "Bologna", "https://www.unibo.it", "unibo.it", "I  BOLOGNA01", [
        ("Giulia Rossi", "Erasmus institutional coordinator", "giulia.rossi@unibo.example", "+39 051 209 9000"),
        ("Marco Ferri", "Incoming students office", "incoming@unibo.example", "+39 051 209 9010")]),
    ("Sorbonne Université", "FR", "Paris", "https://www.sorbonne-universite.fr", "sorbonne-universite.fr",
     "F  PARIS468", [
         ("Claire Dubois", "Responsable des relations internationales", "claire.dubois@sorbonne.example",
          "+33 1 44 27 30 00")]),
    ("Ludwig-Maximilians-Universität München", "DE", "München", "https://www.lmu.de", "lmu.de", "D  MUNCHEN01", [
        ("Jonas Becker", "International Office – Erasmus", "jonas.becker@lmu.example", "+49 89 2180 0"),
        ("Anna Schmidt", "Learning agreements", "anna.schmidt@lmu.example", None)]),
    ("Universiteit Utrecht", "NL", "Utrecht", "https://www.uu.nl", "uu.nl", "NL UTRECHT01", [
        ("Sanne de Vries", "Exchange coordinator", "s.devries@uu.example", "+31 30 253 3550")]),
    ("Lunds universitet", "SE", "Lund", "https://www.lu.se", "lu.se", "S  LUND01", [
        ("Erik Lindqvist", "International desk", "erik.lindqvist@lu.example", "+46 46 222 00 00")]),
    ("Uniwersytet Jagielloński", "PL", "Kraków", "https://www.uj.edu.pl", "uj.edu.pl", "PL KRAKOW01", [
        ("Katarzyna Nowak", "Erasmus+ office", "katarzyna.nowak@uj.example", "+48 12 663 11 00")]),
    ("Universidade de Coimbra", "PT", "Coimbra", "https://www.uc.pt", "uc.pt", "P  COIMBRA01", [
        ("João Pereira", "Divisão de Relações Internacionais", "joao.pereira@uc.example", "+351 239 859 900")]),
    ("Waseda University", "JP", "Tokyo", "https://www.waseda.jp", "waseda.jp", None, [
        ("Haruka Sato", "Center for International Education", "haruka.sato@waseda.example", "+81 3 3204 9000")]),
    ("Université de Montréal", "CA", "Montréal", "https://www.umontreal.ca", "umontreal.ca", None, [
        ("Émilie Tremblay", "Maison internationale", "emilie.tremblay@umontreal.example", "+1 514 343 6111")]),
    ("Universidade de São Paulo", "BR", "São Paulo", "https://www.usp.br", "usp.br", None, [
        ("Rafael Souza", "Agência USP de Cooperação Internacional", "rafael.souza@usp.example",
         "+55 11 3091 3500")]),
    ("The University of Melbourne", "AU", "Melbourne", "https://www.unimelb.edu.au", "unimelb.edu.au", None, [
        ("Olivia Nguyen", "Global mobility adviser", "olivia.nguyen@unimelb.example", "+61 3 9035 5511")]),
    ("Pontificia Universidad Católica de Chile", "CL", "Santiago", "https://www.uc.cl", "uc.cl", None, [
        ("Camila Fuentes", "Dirección de Relaciones Internacionales", "camila.fuentes@uc-chile.example",
         "+56 2 2354 2000")]),
    ("Universidad Nacional Autónoma de México", "MX", "Ciudad de México", "https://www.unam.mx", "unam.mx", None, [
        ("Diego Hernández", "Dirección General de Cooperación", "diego.hernandez@unam.example",
         "+52 55 5622 1234")]),
    ("Yonsei University", "KR", "Seoul", "https://www.yonsei.ac.kr", "yonsei.ac.kr", None, [
        ("Min-jun Kim", "Office of International Affairs", "minjun.kim@yonsei.example", "+82 2 2123 2114")]),
]

# reference, SCHAC, first year offset, last year offset (from the current academic year), status,
# conditions [(direction, ISCED, EQF levels, places, months, [(language, CEFR)], mobility type)]
AGREEMENTS = [
    ("DEMO-IIA-UNIBO", "unibo.it", 0, 2, AgreementStatus.active, [
        (OUT, "0413", [6, 7], 4, 5, [("it", "B1"), ("en", "B2")], MobilityType.study),
        (IN, "0413", [6, 7], 4, 5, [("es", "B1")], MobilityType.study),
        (OUT, "0231", [6], 2, 10, [("it", "B2")], MobilityType.study)]),
    ("DEMO-IIA-SORBONNE", "sorbonne-universite.fr", 0, 2, AgreementStatus.active, [
        (OUT, "0231", [6, 7], 3, 10, [("fr", "B2")], MobilityType.study),
        (IN, "0231", [6, 7], 3, 10, [("es", "B1")], MobilityType.study),
        (OUT, "0912", [7], 2, 5, [("fr", "B2")], MobilityType.traineeship)]),
    ("DEMO-IIA-LMU", "lmu.de", -1, 2, AgreementStatus.active, [
        (OUT, "0311", [6, 7], 3, 5, [("de", "B1"), ("en", "B2")], MobilityType.study),
        (IN, "0311", [6, 7], 2, 5, [("en", "B2")], MobilityType.study)]),
    ("DEMO-IIA-UU", "uu.nl", -2, 0, AgreementStatus.active, [   # ends this academic year
        (OUT, "0613", [6, 7], 4, 5, [("en", "B2")], MobilityType.study),
        (IN, "0613", [6, 7], 4, 5, [("en", "B2")], MobilityType.study)]),
    ("DEMO-IIA-LU", "lu.se", -5, -1, AgreementStatus.active, [  # expired: its last year has passed
        (OUT, "0732", [6, 7], 2, 10, [("en", "B2")], MobilityType.study),
        (IN, "0732", [7], 2, 10, [("en", "B2")], MobilityType.study)]),
    ("DEMO-IIA-UJ", "uj.edu.pl", 0, 3, AgreementStatus.active, [
        (OUT, "0613", [6], 3, 5, [("en", "B2")], MobilityType.study),
        (IN, "0613", [6], 5, 5, [("en", "B2")], MobilityType.study),
        (IN, "0231", [6, 7], 2, 10, [("es", "B1")], MobilityType.study)]),
    ("DEMO-IIA-UC", "uc.pt", -1, 2, AgreementStatus.terminated, [
        (OUT, "0912", [7], 2, 10, [("pt", "B1")], MobilityType.study),
        (IN, "0912", [7], 2, 10, [("es", "B1")], MobilityType.study)]),
    ("DEMO-IIA-WASEDA", "waseda.jp", 0, 2, AgreementStatus.active, [
        (OUT, "0231", [6], 2, 10, [("ja", "A2"), ("en", "B2")], MobilityType.study),
        (IN, "0231", [6], 2, 10, [("es", "A2")], MobilityType.study)]),
    ("DEMO-IIA-UMONTREAL", "umontreal.ca", 0, 2, AgreementStatus.active, [
        (OUT, "0311", [6, 7], 3, 5, [("fr", "B2")], MobilityType.study),
        (IN, "0311", [6, 7], 2, 5, [("fr", "B1")], MobilityType.study)]),
    ("DEMO-IIA-USP", "usp.br", 0, 2, AgreementStatus.active, [
        (OUT, "0732", [6, 7], 2, 10, [("pt", "B1")], MobilityType.study),
        (IN, "0732", [6, 7], 3, 10, [("es", "B1")], MobilityType.study)]),
    ("DEMO-IIA-UNIMELB", "unimelb.edu.au", 0, 2, AgreementStatus.active, [
        (OUT, "0413", [6], 2, 5, [("en", "C1")], MobilityType.study),
        (IN, "0413", [6], 2, 5, [("en", "B2")], MobilityType.study)]),
    ("DEMO-IIA-UC-CHILE", "uc.cl", 0, 2, AgreementStatus.active, [
        (OUT, "0912", [7], 2, 5, [], MobilityType.study),
        (IN, "0912", [7], 3, 5, [], MobilityType.study)]),
    ("DEMO-IIA-UNAM", "unam.mx", 0, 2, AgreementStatus.active, [
        (OUT, "0613", [6, 7], 3, 5, [], MobilityType.study),
        (IN, "0613", [6, 7], 3, 5, [], MobilityType.study),
        (OUT, "0311", [7], 2, 10, [], MobilityType.study)]),
    ("DEMO-IIA-YONSEI", "yonsei.ac.kr", 1, 4, AgreementStatus.draft, [
        (OUT, "0413", [6, 7], 2, 5, [("en", "B2")], MobilityType.study),
        (IN, "0413", [6, 7], 2, 5, [("en", "B2")], MobilityType.study)]),
]

TERMINATION_REASON = "The partner closed its exchange programme for our subject areas."


def _home() -> HomeInstitution:
    home = db.session.scalar(select(HomeInstitution))
    if home is None:
        home = HomeInstitution(name="Universidad de Valdemora", country="ES", city="Valdemora",
                               schac_code="uvaldemora.es", erasmus_code="E VALDEMO01",
                               website="https://www.uvaldemora.es", office_email="international@uvaldemora.es",
                               signatory_name="Dr. Elena Ruiz", signatory_title="Vice-Rector for International Relations")
        db.session.add(home)
    return home


def _partner(name, country, city, website, schac, erasmus, contacts) -> PartnerInstitution:
    partner = db.session.scalar(select(PartnerInstitution).where(PartnerInstitution.schac_code == schac))
    if partner is None:
        partner = services.create_institution(services.InstitutionData(
            name=name, country=country, city=city, website=website, schac_code=schac, erasmus_code=erasmus))
    if not partner.contacts:
        for contact_name, role, email, phone in contacts:
            partner.contacts.append(PartnerContact(name=contact_name, role=role, email=email, phone=phone))
    return partner


def _agreement(reference, partner, first, last, status, conditions) -> Agreement:
    agreement = db.session.scalar(select(Agreement).where(Agreement.reference == reference)
                                  .options(selectinload(Agreement.conditions)))
    if agreement is not None:
        return agreement
    data = [services.ConditionData(direction=direction, isced_code=isced, eqf_levels=levels,
                                   places_per_year=places, months_per_place=months, languages=languages,
                                   mobility_type=mobility)
            for direction, isced, levels, places, months, languages, mobility in conditions]
    create_status = AgreementStatus.draft if status is AgreementStatus.draft else AgreementStatus.active
    agreement = services.create_agreement(partner, first_year=first, last_year=last, status=create_status,
                                          reference=reference, condition=data[0])
    for condition in data[1:]:
        services.add_condition(agreement, condition)
    if status is AgreementStatus.terminated:
        agreement.status = AgreementStatus.terminated
        agreement.terminated_at = utcnow()
        agreement.termination_reason = TERMINATION_REASON
    return agreement


def seed(context: dict) -> None:
    home = _home()
    partners = {row[4]: _partner(*row) for row in PARTNERS}
    db.session.flush()
    year = current_academic_year()
    agreements = [_agreement(reference, partners[schac], year + first, year + last, status, conditions)
                  for reference, schac, first, last, status, conditions in AGREEMENTS]
    db.session.flush()
    context["home"] = home
    context["users"] = seed_users(partners["unibo.it"].id)
    context["partners"] = partners
    context["agreements"] = agreements

