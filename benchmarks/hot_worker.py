"""The subprocess side of :mod:`benchmarks.baseline`: ``python -m benchmarks.hot_worker TREE``
times the closed-path entry points of the ``circuit_breaker`` found in TREE.

It puts TREE first on ``sys.path`` before importing the package, says which file it
imported, then answers one JSON line per request until its input ends:

* ``{"calibrate": round_ns}`` -> ``{"n": {loop: iterations}}``
* ``{"round": index, "n": {loop: iterations}}`` -> ``{"ns": {loop: elapsed}}``, the
  loops run in turn, starting at a different one each round.

Only the package's oldest public surface is used (``CircuitBreaker(name=...)``, ``call``,
``call_async``, the decorator), so any revision worth comparing with can be timed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

from benchmarks import loops
from benchmarks.harness import Measure, calibrate, gc_paused

SYNC_ENTRIES = ("call", "decorator")
ASYNC_ENTRIES = ("call_async", "async_decorator")
BARE_OF = {"call": "bare", "decorator": "bare", "call_async": "abare", "async_decorator": "abare"}
"""Each entry point's overhead is taken over the bare call of its kind, in the same round."""


def noop() -> None:
    """The protected function: as cheap as a call gets, so overhead dominates."""


async def anoop() -> None:
    """The protected coroutine function."""


def build(loop: asyncio.AbstractEventLoop) -> dict[str, Measure]:
    from circuit_breaker import CircuitBreaker

    def on_loop(timed: loops.AsyncLoop) -> Measure:
        return loops.in_loop(loop, timed)

    return {
        "bare": loops.bare(noop),
        "call": loops.via(CircuitBreaker(name="bench_call").call, noop),
        "decorator": loops.bare(CircuitBreaker(name="bench_decorator")(noop)),
        "abare": on_loop(loops.awaiting(anoop)),
        "call_async": on_loop(
            loops.awaiting_via(CircuitBreaker(name="bench_async").call_async, anoop)
        ),
        "async_decorator": on_loop(
            loops.awaiting(CircuitBreaker(name="bench_async_decorator")(anoop))
        ),
    }


def answer(request: dict[str, Any], measures: dict[str, Measure]) -> dict[str, Any]:
    if "calibrate" in request:
        round_ns = int(request["calibrate"])
        return {"n": {name: calibrate(measure, round_ns) for name, measure in measures.items()}}
    iterations: dict[str, int] = request["n"]
    names = list(iterations)
    start = int(request["round"]) % len(names)
    elapsed = {}
    for name in names[start:] + names[:start]:
        elapsed[name] = measures[name](iterations[name])
    return {"ns": elapsed}


def serve(tree: str, send: Callable[[dict[str, Any]], None]) -> None:
    sys.path.insert(0, tree)
    import circuit_breaker

    send({"module_file": circuit_breaker.__file__, "python": sys.version.split()[0]})
    loop = asyncio.new_event_loop()
    try:
        measures = build(loop)
        with gc_paused():
            for line in sys.stdin:
                send(answer(json.loads(line), measures))
    finally:
        loop.close()


def main() -> int:
    def send(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    try:
        serve(sys.argv[1], send)
    except Exception:
        send({"error": traceback.format_exc()})
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
