"""The domain rules are pure functions: importing them loads no database layer, model, app or settings."""

import pkgutil

from leaderboard import rules
from tests.imports import loaded_from, modules_loaded_by


def test_the_rules_import_no_models_no_database_and_no_settings():
    names = [m.name for m in pkgutil.iter_modules(rules.__path__)]
    assert len(names) >= 3
    modules = modules_loaded_by("\n".join(f"import leaderboard.rules.{name}" for name in names))
    assert all(f"leaderboard.rules.{name}" in modules for name in names)
    forbidden = ("django.db", "django.contrib", "rest_framework", "celery", "leaderboard.models",
                 "leaderboard.services", "leaderboard.importers", "leaderboard.api")
    assert loaded_from(modules, forbidden) == []
