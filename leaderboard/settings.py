"""Settings for Papers With Code 2, read from the environment.

Defaults run everything on one laptop: an SQLite file and a file-system
Celery broker under var/. Point DATABASE_URL and CELERY_BROKER_URL at
PostgreSQL and Redis to scale out. A wrong value stops start-up with a
message naming the variable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from leaderboard.env import (
    broker_url,
    cache_config,
    database_config,
    envbool,
    envint,
    envlist,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

DEBUG = envbool("DEBUG", True)
SECRET_KEY = secret_key(VAR_DIR, DEBUG)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", []) if os.environ.get("CSRF_TRUSTED_ORIGINS") else []

# Security for production: each option on by default when DEBUG is off, and each can be turned off
# (e.g. SECURE_SSL_REDIRECT=0 behind a proxy that already redirects). `manage.py check --deploy` is clean
# with DEBUG=0, SECRET_KEY and ALLOWED_HOSTS set (tests/site/test_security.py runs it).
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and container health checks ask over plain HTTP and do not follow redirects.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Remote workers on the site's private network (docker-compose's worker-gpu at http://web:8000) may use
# plain HTTP for their endpoints and the benchmark inputs; a node elsewhere uses the site's https URL.
if envbool("WORKER_HTTP_ALLOWED", False):
    SECURE_REDIRECT_EXEMPT += [r"^internal/", r"^benchmarks/[^/]+/(inputs\.json|images/)"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
if envbool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets X-Forwarded-Proto itself and strips the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Web sign-in: after this many failures in a row for one user name or one address, sign-in is
# refused for LOGIN_LOCKOUT_SECONDS (counted in the cache; see leaderboard/login_throttle.py).
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10, minimum=1)
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaderboard",
    "leaderboard.verification",
    "leaderboard.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "leaderboard.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "leaderboard.security.ApiBodyErrorsMiddleware",
    "leaderboard.api.throttling.RateLimitHeadersMiddleware",
]

ROOT_URLCONF = "leaderboard.urls"
WSGI_APPLICATION = "leaderboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_config(os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Several processes (web, worker) share the file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# Pages, API tables and counts, rate-limit counters: shared by every process with Redis.
CACHES = {"default": cache_config(os.environ.get("CACHE_URL", "locmem://"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "profile"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Third-party browser libraries come from npm at set-up (make node_modules), never copied in.
# Only package.json's "dependencies" are served (as vendor/<name>/…); its devDependencies
# (axe-core, for the browser tests) are not.
STATICFILES_DIRS = [BASE_DIR / "site" / "static"]
for _package in json.loads((BASE_DIR / "package.json").read_text()).get("dependencies", {}):
    if (BASE_DIR / "node_modules" / _package).is_dir():
        STATICFILES_DIRS.append((f"vendor/{_package}", BASE_DIR / "node_modules" / _package))
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    # Submitted files go through Django's storage API: MEDIA_ROOT on this disk by default, or an
    # S3-compatible bucket (see below). Ground truth never does: it stays under BENCHMARKS_ROOT.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if os.environ.get("STORAGE_S3_BUCKET"):
    # django-storages with boto3, which reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY itself.
    # Objects stay private (no ACL); a name in use gets a suffix rather than being overwritten.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["STORAGE_S3_BUCKET"],
            "endpoint_url": os.environ.get("STORAGE_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("STORAGE_S3_REGION") or None,
            "location": os.environ.get("STORAGE_S3_PREFIX", ""),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# Uploads: refuse anything bigger before it reaches the disk.
MAX_UPLOAD_BYTES = envint("MAX_UPLOAD_BYTES", 200 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # The API contract's error form ({"error": "..."}) and rate-limit headers, for all of /api/v1/.
    "EXCEPTION_HANDLER": "leaderboard.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "leaderboard.api.pagination.ItemsPerPagePagination",
    "DEFAULT_THROTTLE_CLASSES": [
        "leaderboard.api.throttling.AnonThrottle",
        "leaderboard.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "1000/hour"),
        "user": os.environ.get("API_THROTTLE_USER", "5000/hour"),
        "submissions": os.environ.get("API_THROTTLE_SUBMISSIONS", "60/hour"),
    },
}
# Seconds a cached page, table or count may be served; writes expire them at once in the writing
# process, and everywhere with a shared cache (so there the default is long: a board's tables then
# outlive writes to other boards). 0 turns the cache off.
_SHARED_CACHE = not CACHES["default"]["BACKEND"].endswith("LocMemCache")
# With Redis an hour: a big board's table outlives many writes to other boards, and rebuilding it
# when it expires (80-100 ms for the biggest) is what the first reader then waits for.
API_CACHE_SECONDS = envint("API_CACHE_SECONDS", 3600 if _SHARED_CACHE else 30, minimum=0)
# Signed-in requests read their session from a shared cache (written through to the database, which
# still holds every session). A per-process cache would keep a session another process ended.
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if _SHARED_CACHE else "db")
SPECTACULAR_SETTINGS = {
    "TITLE": "Papers With Code 2 API",
    "DESCRIPTION": "Papers, tasks, datasets, methods, leaderboards and verified results.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the drf-spectacular-sidecar package: the docs work without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A run's status in both of its shapes (the list's summary and the full run) is one enum.
    "ENUM_NAME_OVERRIDES": {"RunStatusEnum": "leaderboard.verification.models.EvaluationRun.Status"},
}

# Celery: the embedded default needs no server (kombu's file-system transport).
CELERY_BROKER_URL = broker_url(os.environ.get("CELERY_BROKER_URL", "filesystem://"))
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest evaluation, or Redis hands a running job to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 4 * 3600, minimum=60)
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Verification service: where installed ground truth lives (never under MEDIA_ROOT, which may be
# served), the queues, and how lost workers and lost messages are recovered (see `reap_runs`).
BENCHMARKS_ROOT = Path(os.environ.get("BENCHMARKS_ROOT", VAR_DIR / "benchmarks"))
VERIFICATION_QUEUES = {
    "cpu": os.environ.get("VERIFICATION_CPU_QUEUE", "cpu"),
    "gpu": os.environ.get("VERIFICATION_GPU_QUEUE", "gpu"),
}
VERIFICATION_LEASE_SECONDS = envint("VERIFICATION_LEASE_SECONDS", 60, minimum=1)
VERIFICATION_MAX_ATTEMPTS = envint("VERIFICATION_MAX_ATTEMPTS", 3, minimum=1)
VERIFICATION_RESEND_AFTER_SECONDS = envint("VERIFICATION_RESEND_AFTER_SECONDS", 600, minimum=1)
VERIFICATION_REAP_EVERY_SECONDS = envint("VERIFICATION_REAP_EVERY_SECONDS", 60, minimum=1)
VERIFICATION_DEFAULT_TIME_LIMIT = envint("VERIFICATION_DEFAULT_TIME_LIMIT", 3600, minimum=1)
VERIFICATION_TIME_LIMIT_GRACE = 60
VERIFICATION_DAILY_LIMIT = envint("VERIFICATION_DAILY_LIMIT", 5, minimum=1)
# How long the signed checkpoint link in a gpu-queue message stays valid. The reaper re-sends a run
# still queued after VERIFICATION_RESEND_AFTER_SECONDS with a fresh link, so this must be longer.
VERIFICATION_LINK_SECONDS = envint("VERIFICATION_LINK_SECONDS", 3600, minimum=60)
if VERIFICATION_LINK_SECONDS <= VERIFICATION_RESEND_AFTER_SECONDS:
    raise ImproperlyConfigured(
        f"VERIFICATION_LINK_SECONDS={VERIFICATION_LINK_SECONDS} must be longer than "
        f"VERIFICATION_RESEND_AFTER_SECONDS={VERIFICATION_RESEND_AFTER_SECONDS}, or a queued run's links "
        "expire before the reaper sends fresh ones."
    )
CELERY_BEAT_SCHEDULE = {
    "reap-runs": {
        "task": "workers.tasks.reap_runs",
        "schedule": float(VERIFICATION_REAP_EVERY_SECONDS),
        "options": {"queue": VERIFICATION_QUEUES["cpu"], "expires": float(VERIFICATION_REAP_EVERY_SECONDS)},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
