"""What every scenario receives: how hard to measure, and shared resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.baseline import DEFAULT_REVISION
from benchmarks.harness import Settings
from benchmarks.redis_server import RedisServer


@dataclass
class Context:
    settings: Settings
    workdir: Path
    redis: RedisServer = field(default_factory=RedisServer)
    baseline_revision: str = DEFAULT_REVISION

    @property
    def quick(self) -> bool:
        return self.settings.quick
