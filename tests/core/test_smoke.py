def test_landing_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Exchange platform" in response.data


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}
