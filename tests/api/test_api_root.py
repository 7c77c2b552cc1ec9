"""/api/v1/ answers with the API's collections and where its documentation is."""

import pytest


@pytest.mark.django_db
def test_the_api_root_links_every_collection_and_the_docs(client):
    response = client.get("/api/v1/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["documentation"] == "http://testserver/api/v1/docs/"
    assert body["schema"] == "http://testserver/api/v1/schema/"
    assert body["papers"] == "http://testserver/api/v1/papers/"
    assert body["submissions"] == "http://testserver/api/v1/submissions/"
    for name, url in body.items():
        path = url.removeprefix("http://testserver")
        if name not in ("documentation", "submissions", "search"):
            assert client.get(path, HTTP_ACCEPT="application/json").status_code == 200, name


@pytest.mark.django_db
def test_a_browser_gets_a_browsable_root_and_the_site_links_the_docs(client):
    page = client.get("/api/v1/", HTTP_ACCEPT="text/html").content.decode()
    assert "Papers With Code 2 API" in page and "http://testserver/api/v1/docs/" in page
    assert client.get("/api/v1/docs/").status_code == 200
    home = client.get("/").content.decode()
    assert 'href="/api/v1/docs/"' in home
    assert 'href="/api/v1/docs/"' in client.get("/about/").content.decode()
