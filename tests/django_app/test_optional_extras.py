"""The app with only the ``django`` extra installed: metrics are optional."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_PROMETHEUS = """
import sys
sys.modules["prometheus_client"] = None  # as if the package were not installed
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.django_settings"
import django
django.setup()
from django.core.management import call_command
call_command("check")
from circuit_breaker_django import registry
print(sorted(registry.names()))
"""

METRICS_WITHOUT_PROMETHEUS = WITHOUT_PROMETHEUS.replace(
    'call_command("check")',
    "from django.conf import settings\n"
    'settings.CIRCUIT_BREAKERS = {**settings.CIRCUIT_BREAKERS, "METRICS": True}\n'
    'call_command("check")',
)


def test_the_app_starts_and_builds_its_registry_without_prometheus_client() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PROMETHEUS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "ImportError" not in done.stderr


def test_metrics_asked_for_without_prometheus_client_is_a_check_error() -> None:
    done = subprocess.run(
        [sys.executable, "-c", METRICS_WITHOUT_PROMETHEUS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "circuit_breaker_django.E007" in done.stderr
    assert "prometheus" in done.stderr
    assert "ImportError" not in done.stderr  # the check speaks before anything imports it
