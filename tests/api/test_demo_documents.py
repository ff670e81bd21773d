from __future__ import annotations

from service.demo.seed import seed_demo


def test_demo_site_has_its_policies_published_once(app, client):
    seed_demo("http://127.0.0.1:5000")
    seed_demo("http://127.0.0.1:5000")  # idempotent
    for kind, title in [
        ("privacy", "Privacy Policy"),
        ("terms", "Terms of Use"),
        ("cookies", "Cookie Policy"),
    ]:
        versions = client.get(f"/api/v1/sites/news-example/documents/{kind}/versions").get_json()
        assert [v["version"] for v in versions["items"]] == [1]
        page = client.get(f"/p/news-example/{kind}")
        assert page.status_code == 200
        assert title in page.get_data(as_text=True)
    config = client.get("/api/v1/sites/news-example/banner").get_json()
    assert [d["kind"] for d in config["documents"]] == ["privacy", "terms", "cookies"]
    assert config["texts"]["title"] == "We value your privacy"
    assert config["banner_document"]["version"] == 1


def test_demo_command_migrates_seeds_and_serves(app, runner, monkeypatch):
    served = {}

    def fake_run_simple(host, port, application, **options):
        served.update(host=host, port=port, app=application, options=options)

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    result = runner.invoke(args=["demo", "--port", "5055", "--visitors-per-day", "2"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5055/demo" in result.output
    assert served["port"] == 5055 and served["app"] is app
    client = app.test_client()
    assert client.get("/demo").status_code == 200
    assert client.get("/api/v1/sites/news-example/banner").status_code == 200
