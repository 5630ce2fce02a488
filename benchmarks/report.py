"""Result rows, the terminal table and the JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Verdict = Literal["PASS", "MISS", "INFO", "SKIP", "QUICK", "ERROR"]
Direction = Literal["lower", "higher"]


@dataclass
class Row:
    """One measured figure: this project's, the best peer's, the ratio and the target."""

    scenario: str
    metric: str
    unit: str
    ours: float | None = None
    peers: dict[str, float] = field(default_factory=dict)
    better: Direction = "lower"
    target: str = ""
    verdict: Verdict = "INFO"
    spread: float | None = None  # IQR / median of this project's figure
    notes: str = ""
    skipped: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # a scenario's own figures

    @property
    def best_peer(self) -> str | None:
        finite = {name: value for name, value in self.peers.items() if math.isfinite(value)}
        if not finite:
            return None
        pick = min if self.better == "lower" else max
        return pick(finite, key=finite.__getitem__)

    @property
    def ratio(self) -> float | None:
        """This project's figure divided by the best peer's."""
        best = self.best_peer
        if self.ours is None or best is None or self.peers[best] == 0:
            return None
        return self.ours / self.peers[best]

    def judge(self, passed: bool, quick: bool) -> None:
        self.verdict = "QUICK" if quick else ("PASS" if passed else "MISS")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        best = self.best_peer
        data["best_peer"] = best
        data["best_peer_value"] = None if best is None else self.peers[best]
        data["ratio"] = self.ratio
        return data


def skipped(scenario: str, reason: str, target: str = "") -> Row:
    return Row(scenario, "(skipped)", "", target=target, verdict="SKIP", skipped=reason)


def failed(scenario: str, error: BaseException) -> Row:
    reason = f"scenario raised {type(error).__name__}: {error}"
    return Row(scenario, "(error)", "", verdict="ERROR", skipped=reason)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def table(rows: Sequence[Row]) -> str:
    header = ("scenario", "metric", "unit", "ours", "±", "best peer", "peer", "ratio",
              "target", "verdict")
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        if row.skipped is not None:
            lines.append((row.scenario, f"SKIPPED: {row.skipped}", "", "", "", "", "", "",
                          row.target, row.verdict))
            continue
        best = row.best_peer
        lines.append((
            row.scenario,
            row.metric,
            row.unit,
            _fmt(row.ours),
            "" if row.spread is None else f"{row.spread * 50:.0f}%",
            best or "-",
            _fmt(None if best is None else row.peers[best]),
            "-" if row.ratio is None else f"{row.ratio:.2f}x",
            row.target,
            row.verdict,
        ))
    # A skipped row's reason may be long: it spans the columns after "scenario".
    widths = [max(len(line[i]) for line in lines if i != 1 or line[1][:8] != "SKIPPED:")
              for i in range(len(header))]
    rendered = []
    for line in lines:
        if line[1].startswith("SKIPPED:"):
            rendered.append(f"{line[0]:<{widths[0]}}  {line[1]}  [{line[9]}]")
            continue
        cells = [cell.ljust(width) if i < 3 or i in (5, 8) else cell.rjust(width)
                 for i, (cell, width) in enumerate(zip(line, widths, strict=True))]
        rendered.append("  ".join(cells).rstrip())
    rendered.insert(1, "-" * len(rendered[0]))
    return "\n".join(rendered)


def peers_detail(rows: Sequence[Row]) -> str:
    """Every peer's figure, not only the best one's."""
    out = []
    for row in rows:
        if row.skipped is None and (row.peers or row.notes):
            figures = ", ".join(f"{name} {_fmt(value)}" for name, value in row.peers.items())
            line = f"{row.scenario} / {row.metric}: ours {_fmt(row.ours)} {row.unit}"
            if figures:
                line += f"; {figures}"
            if row.notes:
                line += f"  ({row.notes})"
            out.append(line)
    return "\n".join(out)


def write_json(path: Path, rows: Sequence[Row], meta: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**meta, "rows": [row.as_json() for row in rows]}
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
