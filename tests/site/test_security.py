"""Production security: the CSP and no inline script, `check --deploy`, sign-in lock-out, no internals shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from leaderboard import views

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-passphrase-42"


@pytest.mark.parametrize("path", ["/", "/sota/face-alignment-on-wflw", "/paper/adaptive-wing-loss-for-robust-face-alignment",
                                  "/search/?q=face", "/accounts/login/", "/api/v1/docs/", "/api/v1/tasks/", "/healthz",
                                  "/admin/login/", "/no-such-page/"])
def test_every_page_sends_a_content_security_policy_without_inline_script(client, demo, path):
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    scripts = re.search(r"script-src ([^;]*)", policy).group(1)
    assert scripts == "'self'"
    assert "unsafe-inline" not in scripts and "unsafe-eval" not in scripts
    assert "frame-ancestors 'none'" in policy
    if response["Content-Type"].startswith("text/html"):
        for tag in re.findall(r"<script\b[^>]*>", response.content.decode(), flags=re.IGNORECASE):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)


def _templates():
    for folder in [ROOT / "site" / "templates", *ROOT.glob("leaderboard/**/templates")]:
        yield from folder.rglob("*.html")


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    for template in _templates():
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.IGNORECASE):
            if "src=" not in tag:
                offenders.append(f"{template}: {tag}")
        for handler in re.findall(r"<[^>]*\son[a-z]+\s*=", text, flags=re.IGNORECASE):
            offenders.append(f"{template}: {handler}")
    assert list(_templates()), "no templates found"
    assert offenders == []


def test_check_deploy_is_clean_for_the_production_configuration(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leaderboard.settings",
        "DEBUG": "0",
        "SECRET_KEY": "8c1f0b7e9a2d4c6f3e5a7b9d1c3e5f7a9b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e",
        "ALLOWED_HOSTS": "pwc2.example.org",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    # DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests set it for this test process; production never does.
    for name in ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
                 "DJANGO_ALLOW_ASYNC_UNSAFE"]:
        env.pop(name, None)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_a_security_setting_with_a_bad_value_stops_start_up(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leaderboard.settings", "VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "SECURE_HSTS_SECONDS": "a year"}
    result = subprocess.run([sys.executable, "manage.py", "check"], check=False, cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stderr


def _log_in(client, username, password, address="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_ten_failed_sign_ins_lock_the_user_out_even_with_the_right_password(client, db, settings):
    settings.LOGIN_FAILURE_LIMIT = 10
    User.objects.create_user("ada", password=PASSWORD)
    User.objects.create_user("grace", password=PASSWORD)
    for _ in range(10):
        assert _log_in(client, "ada", "wrong").status_code == 200
    refused = _log_in(client, "ada", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # The name is locked from any address; the address for any name.
    assert _log_in(client, "ada", PASSWORD, address="10.0.0.2").status_code == 429
    assert _log_in(client, "grace", PASSWORD).status_code == 429
    # Someone else, elsewhere, signs in as usual.
    assert _log_in(client, "grace", PASSWORD, address="10.0.0.3").status_code == 302


def test_the_admin_login_is_locked_out_too(client, db, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    User.objects.create_user("root", password=PASSWORD, is_staff=True, is_superuser=True)
    assert client.get("/admin/login/").status_code == 200
    for _ in range(3):
        answer = client.post("/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="10.0.1.1")
        assert answer.status_code == 200
    refused = client.post("/admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR="10.0.1.2")
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode()
    # The web login shares the count.
    assert _log_in(client, "root", PASSWORD, address="10.0.1.3").status_code == 429


def test_behind_the_trusted_proxy_the_forwarded_address_counts(client, db, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    User.objects.create_user("ada", password=PASSWORD)
    User.objects.create_user("grace", password=PASSWORD)
    proxy = {"REMOTE_ADDR": "10.9.9.9", "HTTP_X_FORWARDED_PROTO": "https"}
    for _ in range(2):
        client.post("/accounts/login/", {"username": "ada", "password": "wrong"},
                    HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", **proxy)
    assert client.post("/accounts/login/", {"username": "grace", "password": PASSWORD},
                       HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    assert client.post("/accounts/login/", {"username": "grace", "password": PASSWORD},
                       HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy).status_code == 302


def test_a_success_clears_the_count_of_failures(client, db, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    User.objects.create_user("ada", password=PASSWORD)
    _log_in(client, "ada", "wrong", address="10.0.0.5")
    _log_in(client, "ada", "wrong", address="10.0.0.6")
    assert _log_in(client, "ada", PASSWORD, address="10.0.0.7").status_code == 302
    client.post("/accounts/logout/")
    assert _log_in(client, "ada", "wrong", address="10.0.0.8").status_code == 200
    assert _log_in(client, "ada", PASSWORD, address="10.0.0.9").status_code == 302


def _broken(*args, **kwargs):
    return "error: connection to server at 10.1.2.3 failed: password authentication failed for user pwc"


def test_healthz_shows_error_text_to_staff_only(client, db, monkeypatch):
    monkeypatch.setattr(views, "_check_database", _broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "failing", "broker": "ok"}
    staff = User.objects.create_user("stella", password=PASSWORD, is_staff=True)
    client.force_login(staff)
    assert "10.1.2.3" in client.get("/healthz").json()["database"]


@pytest.mark.parametrize("query", ["\x00", "face\x00", "\x01\x1f\x7f", "a\x0bb"])
def test_a_search_with_control_characters_is_a_clean_page(client, demo, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/sota/face-alignment-on-wflw?metric=%00", "/sota/face-alignment-on-wflw?extra=%00",
                                  "/sota/face-alignment-on-wflw.csv?metric=%00", "/papers/?page=%00",
                                  "/submit/?benchmark=%00", "/api/v1/papers/?q=%00", "/api/v1/tasks/?name=%00",
                                  "/api/v1/evaluations/?task=%00"])
def test_a_nul_in_other_query_parameters_is_never_a_500(client, demo, path):
    assert client.get(path).status_code < 500


def test_the_health_check_is_not_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/about/").status_code == 301
