"""A breakers.yaml for a large service: 1,000 breakers over the built-in and own profiles."""

from __future__ import annotations

from pathlib import Path

PROFILES = ("api", "db", "critical", "payments")


def write(path: Path, breakers: int = 1000, store: dict[str, str] | None = None) -> Path:
    lines = [
        "version: 1",
        "defaults: {profile: api}",
        "profiles:",
        "  payments:",
        "    extends: critical",
        "    base_interval: 30s",
        "breakers:",
    ]
    for index in range(breakers):
        profile = PROFILES[index % len(PROFILES)]
        extra = ""
        if index % 10 == 3:
            extra = ", failure_threshold: 8"
        elif index % 10 == 7:
            extra = ", critical: true"
        lines.append(f"  service_{index:04d}: {{profile: {profile}{extra}}}")
    if store:
        lines.append("store:")
        lines.extend(f"  {key}: {value}" for key, value in store.items())
    path.write_text("\n".join(lines) + "\n")
    return path
