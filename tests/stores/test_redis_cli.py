"""`python -m circuit_breaker status` reads the fleet-wide state from Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from circuit_breaker import load_registry
from tests.redis_servers import ExternalRedis, RedisServer


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("upstream down")


def test_status_command_shows_a_trip_made_by_another_process(
    redis_server: RedisServer | ExternalRedis, key_prefix: str, tmp_path: Path
) -> None:
    config = tmp_path / "breakers.yaml"
    config.write_text(
        "version: 1\n"
        "breakers:\n"
        "  external_api: {profile: api}\n"
        "  orders_db: {profile: db}\n"
        "store:\n"
        "  backend: redis\n"
        f"  url: {redis_server.url}\n"
        f"  key_prefix: {key_prefix}\n"
    )
    registry = load_registry(config)  # this process plays a service of the fleet
    try:
        for _ in range(3):
            with pytest.raises(Boom):
                registry.get("external_api").call(boom)
    finally:
        registry.close()

    def status(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "circuit_breaker", "status", "--config", str(config)]
        return subprocess.run(
            [*command, *args], capture_output=True, text=True, timeout=60, check=False
        )

    as_json = status("--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    statuses: dict[str, Any] = json.loads(as_json.stdout)
    assert statuses["external_api"]["state"] == "open"
    assert statuses["external_api"]["consecutive_circuit_breaks"] == 1
    assert statuses["orders_db"]["state"] == "closed"

    table = status()
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if line.startswith("external_api"))
    assert "OPEN" in row.upper() and "fixed-interval (attempt 1/3)" in row
