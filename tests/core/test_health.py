def test_health_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unknown_api_path_answers_problem_json(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404


def test_unknown_page_answers_html_in_vietnamese(client):
    response = client.get("/does-not-exist")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.get_data(as_text=True)


def test_ids_beyond_database_integers_are_not_found(client):
    # Larger than PostgreSQL's integer and SQLite's 64-bit integer: a 404, never an overflow.
    assert client.get("/manage/99999999999999999999").status_code == 404
    assert client.get("/api/v1/batches/2147483648").status_code == 404


def test_language_switch_sticks_and_drops_a_lang_parameter(client):
    response = client.post("/lang/en", data={"next": "/s/ABC?lang=vi&x=1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/s/ABC?x=1"
    assert "Page not found." in client.get("/does-not-exist").get_data(as_text=True)


def test_language_switch_refuses_foreign_redirects(client):
    response = client.post("/lang/vi", data={"next": "https://evil.example/phish"})
    assert response.headers["Location"] == "/"
