"""``make demo`` start-up: settable ports, checked before anything starts, clear refusals."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "example_project"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something already listens on (a demo started earlier, say)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def check_ports(*ports: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE / "check_ports.py"), *map(str, ports)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_free_ports_pass_silently() -> None:
    result = check_ports(free_port(), free_port())

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_busy_shop_port_is_named_with_the_way_to_pick_another(busy_port: int) -> None:
    result = check_ports(busy_port, free_port())

    assert result.returncode == 1
    assert result.stderr.startswith(
        f"make demo: port {busy_port} for the shop (Django runserver) is already in use on "
        "127.0.0.1"
    )
    assert "pick another port: make demo PORT=8080" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_upstream_port_names_its_own_variable(busy_port: int) -> None:
    result = check_ports(free_port(), busy_port)

    assert result.returncode == 1
    assert f"port {busy_port} for the flaky upstream is already in use" in result.stderr
    assert "make demo UPSTREAM_PORT=8091" in result.stderr


@pytest.mark.parametrize(
    ("ports", "message"),
    [
        (("eighty", 8001), "PORT must be a port number from 1 to 65535, not 'eighty'."),
        ((8000, 70000), "UPSTREAM_PORT must be a port number from 1 to 65535, not 70000."),
        ((8000, 8000), "PORT and UPSTREAM_PORT are both 8000"),
    ],
)
def test_unusable_port_values_are_refused(ports: tuple[object, object], message: str) -> None:
    result = check_ports(*ports)

    assert result.returncode == 1
    assert message in result.stderr


def test_the_demo_stops_before_starting_anything_when_its_port_is_taken(
    busy_port: int, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PORT": str(busy_port),
        "UPSTREAM_PORT": str(free_port()),
        "DEMO_PYTHON": sys.executable,
    }

    result = subprocess.run(
        ["bash", str(EXAMPLE / "run_demo.sh")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )

    assert result.returncode == 1
    assert f"port {busy_port} for the shop" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Shop page" not in result.stdout  # no banner of URLs
    assert "Operations to perform" not in result.stdout  # not even the migrations ran


def test_the_upstream_refuses_a_taken_port_in_one_line(busy_port: int) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "upstream.py"), "--port", str(busy_port)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"upstream.py: cannot listen on 127.0.0.1:{busy_port} (Address already in use); "
        "pick another port: make demo UPSTREAM_PORT=8091"
    )


def test_make_demo_passes_both_ports_to_the_script() -> None:
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "demo", "PORT=8080", "UPSTREAM_PORT=8091"],
        cwd=EXAMPLE.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "PORT=8080 UPSTREAM_PORT=8091 bash example_project/run_demo.sh" in result.stdout
