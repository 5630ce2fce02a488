"""``make package-check``: the sdist and the wheel are complete, and the wheel runs Django.

Steps: build both with ``python -m build`` in a copy of the repository (the wheel from the
sdist, as an installer would); ``twine check --strict``; look inside the archives for the
templates, the migrations, both ``py.typed`` markers and the LICENSE, and for nothing
but the two packages; install the wheel into a fresh virtual environment; run the example
project against that installation: ``manage.py check``, ``migrate`` on a new SQLite
database, then requests to the health endpoint and the admin's breaker list. The example
project can only read templates and migrations from the wheel, so a file left out of it
fails here rather than in a user's deployment.

Run from the repository root: ``python -m tests.packaging.check_package``.
"""

from __future__ import annotations

import email.parser
import json
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from tests.packaging.sandbox import ROOT, copy_of_the_repository, fresh_venv, pip_install, run

TEMPLATES = "circuit_breaker_django/templates/admin/circuit_breaker_django"
MIGRATIONS = sorted(
    path.stem for path in (ROOT / "circuit_breaker_django" / "migrations").glob("0*.py")
)
WHEEL_MUST_HOLD = (
    "circuit_breaker/py.typed",
    "circuit_breaker_django/py.typed",
    "circuit_breaker_django/migrations/__init__.py",
    *(f"circuit_breaker_django/migrations/{name}.py" for name in MIGRATIONS),
    f"{TEMPLATES}/styles.html",
    f"{TEMPLATES}/breaker/change_list.html",
    f"{TEMPLATES}/breaker/change_form.html",
    f"{TEMPLATES}/breaker/action_confirmation.html",
    f"{TEMPLATES}/transition/change_list.html",
)
# Only the two packages belong in the wheel: not the demo, the tests or the benchmarks.
WHEEL_TOP_LEVEL = {"circuit_breaker", "circuit_breaker_django"}
SDIST_MUST_HOLD = ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", *WHEEL_MUST_HOLD)

# Runs inside the fresh environment, in the example project, through `manage.py shell`.
REQUESTS = """
import json
from pathlib import Path

import circuit_breaker, circuit_breaker_django
from django.contrib.auth import get_user_model
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.test.utils import setup_test_environment

setup_test_environment()  # responses then list the templates they rendered
installed = Path(circuit_breaker_django.__file__).parent
applied = MigrationRecorder.Migration.objects.filter(app="circuit_breaker_django")
client = Client()

health = client.get("/health/breakers/")
assert health.status_code == 200, (health.status_code, health.content)
breakers = sorted(json.loads(health.content)["breakers"])

get_user_model().objects.create_superuser("check", "check@example.com", "check")
client.login(username="check", password="check")
page = client.get("/admin/circuit_breaker_django/breaker/")
assert page.status_code == 200, page.status_code
ours = {t.name: t.origin.name for t in page.templates if "circuit_breaker_django" in t.name}
print(json.dumps({
    "library": circuit_breaker.__file__,
    "app": str(installed),
    "migrations": sorted(m.name for m in applied),
    "breakers": breakers,
    "templates": ours,
}))
"""


def check_archives(dist: Path) -> Path:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(info).decode())
    missing = [name for name in WHEEL_MUST_HOLD if name not in names]
    assert not missing, f"the wheel lacks {missing}"
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == WHEEL_TOP_LEVEL, f"the wheel holds {sorted(top_level)}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "no LICENSE"
    assert metadata["Name"] == "circuit-breaker" and metadata["License-Expression"] == "MIT"
    extras = set(metadata.get_all("Provides-Extra") or [])
    integrations = {"httpx", "requests", "tenacity", "opentelemetry"}
    assert {"django", "redis", "prometheus", *integrations} <= extras, extras
    with tarfile.open(sdist) as archive:
        root = archive.getnames()[0].split("/")[0]
        held = {name.removeprefix(root + "/") for name in archive.getnames()}
    missing = [name for name in SDIST_MUST_HOLD if name not in held]
    assert not missing, f"the sdist lacks {missing}"
    return wheel


def run_example_project(python: Path, workdir: Path) -> dict[str, Any]:
    # A copy, so that manage.py (which puts its parent directory on sys.path for the
    # demo) finds no library next to it: only the installed wheel can answer.
    example = workdir / "example_project"
    shutil.copytree(
        ROOT / "example_project",
        example,
        ignore=shutil.ignore_patterns("*.sqlite3", "__pycache__"),
    )
    run([python, "manage.py", "check", "--fail-level", "WARNING"], cwd=example)
    run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=example)
    assert (example / "db.sqlite3").is_file()
    output = run([python, "manage.py", "shell", "-c", REQUESTS], cwd=example)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="package-check-") as temporary:
        workdir = Path(temporary)
        dist = workdir / "dist"

        def step(message: str) -> None:
            print(f"package-check [{time.monotonic() - started:5.1f}s] {message}", flush=True)

        step("building the sdist, then the wheel from it, in a copy of the repository")
        source = copy_of_the_repository(workdir / "circuit_breaker")
        run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source])
        step("twine check --strict")
        run([sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir())])
        wheel = check_archives(dist)
        step(f"{wheel.name}: installing into a fresh virtual environment, with [django]")
        python = fresh_venv(workdir / "venv")
        pip_install(python, f"{wheel}[django,prometheus]")
        step("example project on the installed wheel: check, migrate, requests")
        result = run_example_project(python, workdir)

        venv = str(workdir / "venv")
        assert str(result["library"]).startswith(venv), result
        assert str(result["app"]).startswith(venv), result
        assert result["migrations"] == MIGRATIONS, result
        assert result["breakers"], result
        templates: dict[str, str] = result["templates"]
        list_template = "admin/circuit_breaker_django/breaker/change_list.html"
        assert list_template in templates, f"the admin did not render {list_template}"
        outside = {n: o for n, o in templates.items() if not o.startswith(venv)}
        assert not outside, f"templates not read from the wheel: {outside}"
        step(
            f"OK: {len(templates)} app templates and {len(MIGRATIONS)} migrations served from the "
            f"wheel; health endpoint lists {len(result['breakers'])} breakers"
        )


if __name__ == "__main__":
    main()
