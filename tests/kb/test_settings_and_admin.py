"""Settings refuse bad values loudly; every admin page loads."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin

ROOT = Path(__file__).resolve().parents[2]


def start_django(tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DEBUG", "SECRET_KEY"}}
    environment.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="leaderboard.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        check=False, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "uses the scheme 'mysql'"),
        ({"CELERY_BROKER_URL": "localhost:6379"}, "is not a broker URL"),
        ({"CACHE_URL": "memcached://127.0.0.1:11211"}, "CACHE_URL='memcached://127.0.0.1:11211' is not a cache URL"),
        ({"CACHE_URL": "redis://127.0.0.1:6379"}, "needs a host, a port and a database number"),
        ({"DEBUG": "0"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is shorter than 32 characters"),
        ({"MAX_UPLOAD_BYTES": "lots"}, "MAX_UPLOAD_BYTES='lots' is not an integer"),
        ({"ALLOWED_HOSTS": " , "}, "ALLOWED_HOSTS is set but empty"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(tmp_path, env, message):
    completed = start_django(tmp_path, **env)
    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr and message in completed.stderr


def test_settings_start_on_the_embedded_defaults(tmp_path):
    completed = start_django(tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "secret_key").exists()


def test_settings_cache_url_picks_the_backend(tmp_path):
    from leaderboard.env import cache_config

    assert cache_config("locmem://")["BACKEND"].endswith("LocMemCache")
    redis = cache_config("redis://cache.internal:6379/3")
    assert redis == {"BACKEND": "leaderboard.redis_cache.RedisCache", "LOCATION": "redis://cache.internal:6379/3"}


def test_settings_reach_celery_under_their_celery_names(settings):
    from workers.app import app

    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.broker_url == settings.CELERY_BROKER_URL


def test_every_admin_page_loads(admin_client, admin_user, rf, demo):
    request = rf.get("/admin/")
    request.user = admin_user
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        assert admin_client.get(base).status_code == 200, base
        assert admin_client.get(base + "?q=face").status_code == 200, base
        add_status = admin_client.get(base + "add/").status_code
        # Some records are only made by services (evaluation runs): their admin offers no add form.
        assert add_status == (200 if model_admin.has_add_permission(request) else 403), base
        first = model.objects.first()
        if first is not None:
            assert admin_client.get(f"{base}{first.pk}/change/").status_code == 200, base


@pytest.mark.parametrize(
    ("model", "existing", "variant", "fields"),
    [
        ("task", "Face Alignment", "face-alignment", {"slug": "face-alignment-2", "description": ""}),
        ("dataset", "WFLW", " W_FLW", {"slug": "wflw-2", "full_name": "", "description": "", "homepage": "",
                                       "modalities": "[]", "languages": "[]", "variant": "",
                                       "aliases-TOTAL_FORMS": "0", "aliases-INITIAL_FORMS": "0"}),
        ("method", "Adaptive Wing Loss", "ADAPTIVE wing  loss", {"slug": "awl-2", "full_name": "", "description": "",
                                                                 "source_url": "", "source_title": "",
                                                                 "code_snippet_url": "", "collections": "[]"}),
    ],
)
def test_the_admin_refuses_a_name_another_row_has_but_for_case_and_spacing(admin_client, db, model, existing,
                                                                           variant, fields):
    from django.apps import apps

    from leaderboard import writes

    Model = apps.get_model("leaderboard", model)
    original = Model.objects.create(name=existing, slug=f"{model}-original")
    extra = {"aliases-TOTAL_FORMS": "0", "aliases-INITIAL_FORMS": "0"} if model == "task" else {}
    response = admin_client.post(f"/admin/leaderboard/{model}/add/", {"name": variant, **fields, **extra})
    assert response.status_code == 200  # the form again, with the error
    assert f"the existing {Model._meta.verbose_name} “{existing}”" in response.content.decode()
    assert list(Model.objects.values_list("pk", flat=True)) == [original.pk]
    writes.require_name_free(Model, existing, original.pk)  # its own name stays free for itself
