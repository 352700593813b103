def test_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Exchange platform" in response.data


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_character_counters_speak_the_page_language(client):
    """static/js/app.js writes the live counter of every textarea with a maximum length from <body>."""
    page = client.get("/auth/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<body data-counter-text="{n} caractères restants">' in page
    page = client.get("/auth/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<body data-counter-text="quedan {n} caracteres">' in page
