"""CSV import: every row is checked first, a file with any bad row imports nothing."""
import io

import pytest
from sqlalchemy import func, select

from exchange.auth.models import Role
from exchange.partners import csv_import
from exchange.partners.models import PartnerInstitution

HEADER = "name,country,city,website,schac_code,erasmus_code\n"
GOOD = HEADER + (
    "Università di Padova,IT,Padova,https://www.unipd.it,unipd.it,I  PADOVA01\n"
    "\"Universiteit Gent, Faculty of Arts\",be,Gent,,UGent.be,B  GENT01\n"
    "\n"
    "University of Otago,NZ,Dunedin,http://www.otago.ac.nz,otago.ac.nz,\n")


def count(db):
    return db.session.scalar(select(func.count(PartnerInstitution.id)))


def upload(client, content, filename="partners.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post("/partners/institutions/import",
                       data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def test_good_file_imports_every_row(client, db, login):
    login(Role.coordinator)
    response = upload(client, GOOD)
    assert response.status_code == 302
    rows = {i.schac_code: i for i in db.session.scalars(select(PartnerInstitution))}
    assert set(rows) == {"unipd.it", "ugent.be", "otago.ac.nz"}
    assert rows["ugent.be"].name == "Universiteit Gent, Faculty of Arts"
    assert rows["ugent.be"].country == "BE"
    assert rows["otago.ac.nz"].erasmus_code is None and rows["otago.ac.nz"].website == "http://www.otago.ac.nz"


def test_bad_rows_reported_with_line_numbers_and_nothing_imported(client, db, login, make_institution):
    make_institution(schac_code="unibo.it")
    login(Role.coordinator)
    content = HEADER + (
        "Good University,IT,Padova,https://www.unipd.it,unipd.it,\n"          # line 2: fine
        ",IT,Roma,,uniroma1.it,\n"                                              # line 3: missing name
        "Bad Country,XX,Somewhere,,bad-country.org,\n"                          # line 4
        "Duplicate,IT,Padova,,UNIPD.it,\n"                                      # line 5: duplicate of line 2
        "Already there,IT,Bologna,,unibo.it,\n"                                 # line 6: in the database
        "Bad URL,FR,Paris,ftp://example.fr,bad-url.fr,\n"                       # line 7
        "Bad SCHAC,FR,Paris,,not a domain,\n"                                   # line 8
        "Bad Erasmus,FR,Paris,,erasmus.fr,PARIS\n"                              # line 9
        "Too few,FR\n"                                                          # line 10
        "Script,<script>alert(1)</script>,Paris,,script.fr,\n")                 # line 11: echoed escaped
    response = upload(client, content)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    check = csv_import.check_csv(content.encode())
    by_line = {e.line: " ".join(e.reasons) for e in check.errors}
    assert set(by_line) == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert "missing name" in by_line[3]
    assert "bad country" in by_line[4]
    assert "duplicate SCHAC code unipd.it (already on line 2)" in by_line[5]
    assert "already belongs" in by_line[6]
    assert "bad website" in by_line[7]
    assert "bad SCHAC code" in by_line[8]
    assert "bad Erasmus code" in by_line[9]
    assert "expected 6 values, found 2" in by_line[10]
    assert "nothing was imported" in page
    assert "<td class=\"num\">5</td>" in page and "duplicate SCHAC code unipd.it" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert count(db) == 1  # only the pre-existing one


def test_line_numbers_count_quoted_newlines(db):
    content = HEADER + "\"Two\nlines\",IT,,,two.it,\nBad,XX,,,bad.it,\n"
    check = csv_import.check_csv(content.encode())
    assert [e.line for e in check.errors] == [4]


@pytest.mark.parametrize(("content", "filename", "message"), [
    ("name;country;city;website;schac_code;erasmus_code\nA;IT;;;a.it;\n", "x.csv", "semicolons"),
    ("name,country,town,website,schac_code,erasmus_code\n", "x.csv", "missing: city"),
    ("name,country,city,website,schac_code\nA,IT,,,a.it\n", "x.csv", "missing: erasmus_code"),
    (HEADER, "x.csv", "no institutions"),
    ("", "x.csv", "empty"),
    (GOOD, "partners.xlsx", "Please upload a .csv file"),
    ("Universität".encode("latin-1") + b",DE\n", "x.csv", "not UTF-8"),
    (b"%PDF-1.7\n...", "x.csv", "not a CSV file"),
    (b"PK\x03\x04\x00\x00binary", "x.csv", "not a CSV file"),
])
def test_refused_files(client, db, login, content, filename, message):
    login(Role.coordinator)
    response = upload(client, content, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(db) == 0


def test_no_file(client, db, login):
    login(Role.coordinator)
    response = client.post("/partners/institutions/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a CSV file" in response.get_data(as_text=True)


def test_bom_is_accepted(client, db, login):
    login(Role.coordinator)
    assert upload(client, "\ufeff" + GOOD).status_code == 302
    assert count(db) == 3


def test_too_many_rows(db, monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_ROWS", 2)
    with pytest.raises(csv_import.ImportRefused):
        csv_import.check_csv(GOOD.encode() + b"Extra,IT,,,extra.it,\n")


def test_import_page_documents_format_and_sample(client, db, login):
    login(Role.coordinator)
    page = client.get("/partners/institutions/import").get_data(as_text=True)
    assert "name,country,city,website,schac_code,erasmus_code" in page
    sample = client.get("/partners/institutions/import/sample.csv")
    assert sample.status_code == 200 and sample.mimetype == "text/csv"
    assert "attachment" in sample.headers["Content-Disposition"]
    check = csv_import.check_csv(sample.data, "sample.csv")  # the sample itself imports cleanly
    assert check.ok and len(check.rows) == 3
