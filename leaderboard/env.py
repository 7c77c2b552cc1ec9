"""Read settings from the environment, refusing values that cannot be right.

Every helper raises ImproperlyConfigured with the variable's name, the value
it got and what it expects, so a typo fails at start-up instead of later.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def envint(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is too small; it must be at least {minimum}.")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"{name} is set but empty; give a comma-separated list.")
    return items


def database_config(url: str) -> dict:
    """Parse DATABASE_URL; only the engines this project is tested on are accepted."""
    import dj_database_url

    scheme = url.split(":", 1)[0]
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL={url!r} uses the scheme {scheme!r}; use sqlite:///path/to/db.sqlite3 "
            "or postgres://user@host:5432/name."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} cannot be parsed: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} names no database.")
    return config


def broker_url(url: str) -> str:
    scheme = url.split("://", 1)[0]
    if "://" not in url or scheme not in {"redis", "rediss", "filesystem", "memory", "amqp"}:
        raise ImproperlyConfigured(
            f"CELERY_BROKER_URL={url!r} is not a broker URL; use redis://host:6379/0, "
            "amqp://…, or filesystem:// for the embedded broker."
        )
    return url


def cache_config(url: str) -> dict:
    """Parse CACHE_URL: redis://host:port/db (shared by every process) or locmem:// (this process only)."""
    from urllib.parse import urlsplit

    if url == "locmem://":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pwc2"}
    expected = "use redis://host:6379/1 (shared by every process) or locmem:// (one process only)."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"CACHE_URL={url!r} cannot be parsed; {expected}") from None
    if parts.scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(f"CACHE_URL={url!r} is not a cache URL; {expected}")
    if not parts.hostname or port is None or not parts.path.strip("/").isdigit():
        raise ImproperlyConfigured(f"CACHE_URL={url!r} needs a host, a port and a database number; {expected}")
    return {"BACKEND": "leaderboard.redis_cache.RedisCache", "LOCATION": url}


def secret_key(var_dir: Path, debug: bool) -> str:
    """SECRET_KEY from the environment; in DEBUG a generated one kept under var/."""
    key = os.environ.get("SECRET_KEY", "")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY is shorter than 32 characters; use a long random value.")
        return key
    if not debug:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (e.g. export SECRET_KEY=$(openssl rand -hex 32))."
        )
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()
