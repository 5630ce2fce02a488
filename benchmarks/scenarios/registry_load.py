"""Loading a YAML with 1,000 breakers (parse, validate, resolve profiles, build)."""

from __future__ import annotations

from benchmarks import fleet_yaml
from benchmarks.context import Context
from benchmarks.harness import repeat_timed
from benchmarks.report import Row, skipped
from benchmarks.scenarios.optional import find

BREAKERS = 1000
TARGET_MS = 1000.0
TARGET = f"< {TARGET_MS:g} ms"


def run(context: Context) -> list[Row]:
    module, reason = find("circuit_breaker.registry", "load_registry")
    if module is None:
        return [skipped("registry_load", str(reason), TARGET)]
    path = fleet_yaml.write(context.workdir / "breakers-1000.yaml", BREAKERS)
    rounds = 2 if context.quick else 7

    def load() -> None:
        registry = module.load_registry(path)
        if len(registry.names()) != BREAKERS:
            raise RuntimeError(f"expected {BREAKERS} breakers, got {len(registry.names())}")
        registry.close()

    sample = repeat_timed(load, rounds)
    row = Row(
        "registry_load",
        f"load_registry() of {BREAKERS} breakers",
        "ms",
        sample.median / 1e6,
        target=TARGET,
        spread=sample.spread,
        notes=f"memory store; {rounds} loads; no peer has a YAML registry",
    )
    row.judge(row.ours is not None and row.ours < TARGET_MS, context.quick)

    registry = module.load_registry(path)
    status = repeat_timed(registry.status, rounds)
    registry.close()
    status_row = Row(
        "registry_load",
        f"registry.status() of {BREAKERS} breakers",
        "ms",
        status.median / 1e6,
        target="(no target)",
        spread=status.spread,
        notes="memory store",
    )
    return [row, status_row]
