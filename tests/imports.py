"""Which modules a snippet of code loads, run in a fresh interpreter without Django settings."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules_loaded_by(code: str) -> list[str]:
    """Run `code` in a new Python process (repository on the path, no settings) and list sys.modules after it."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def loaded_from(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    """The modules that are, or sit below, any of `packages`."""
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]
