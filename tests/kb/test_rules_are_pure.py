"""The domain rules are pure functions: importing them loads no database layer, model, app or settings."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_rules_import_no_models_no_database_and_no_settings():
    code = (
        "import importlib, pkgutil, sys, leaderboard.rules as rules\n"
        "names = [m.name for m in pkgutil.iter_modules(rules.__path__)]\n"
        "assert names, 'no rule modules found'\n"
        "for name in names: importlib.import_module(f'leaderboard.rules.{name}')\n"
        "bad = [m for m in sys.modules if m.startswith(('django.db', 'django.contrib', 'rest_framework',"
        " 'celery', 'leaderboard.models', 'leaderboard.services', 'leaderboard.importers'))]\n"
        "assert not bad, bad\n"
        "print(len(names))"
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    assert int(out.stdout) >= 3
