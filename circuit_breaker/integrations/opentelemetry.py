"""OpenTelemetry metrics for every breaker of a registry (the ``opentelemetry`` extra).

    from circuit_breaker.integrations.opentelemetry import instrument
    instrument(registry)                  # the global MeterProvider, or meter_provider=...

The instruments are observable: they read the breakers when the SDK collects, as the
Prometheus collector (:mod:`circuit_breaker.metrics`) does when Prometheus scrapes, and
they have its names, so a series is called the same whichever way it is exported:

* ``circuit_breaker_state`` (gauge; ``breaker``, ``state``): 1 for the current state.
* ``circuit_breaker_calls`` (counter; ``breaker``, ``outcome``): success, failure,
  ignored, rejected; exported to Prometheus as ``circuit_breaker_calls_total``.
* ``circuit_breaker_transitions`` (counter; ``breaker``, ``from_state``, ``to_state``).
* ``circuit_breaker_consecutive_breaks`` (gauge; ``breaker``).
* ``circuit_breaker_next_retry_timestamp_seconds`` (gauge; ``breaker``): 0 unless OPEN.
* ``circuit_breaker_exhausted`` (gauge; ``breaker``).
* ``circuit_breaker_info`` (gauge; ``breaker``, ``profile``, ``critical``, ``mode``):
  always 1.
* ``circuit_breaker_window_calls``, ``circuit_breaker_window_failure_rate``,
  ``circuit_breaker_window_slow_call_rate`` (gauges; ``breaker``): the window the rate
  rules judge, rates as fractions 0-1; only for breakers that count a window.

The state gauge is observed first and reads the store (one round trip per store); the
others read the breakers as that read left them.
"""

from __future__ import annotations

from collections.abc import Iterator

try:
    from opentelemetry import metrics
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "circuit_breaker.integrations.opentelemetry needs opentelemetry-api: install the "
        "`opentelemetry` extra of this package from where you installed it (a path, git or "
        "a wheel), or opentelemetry-api itself (and an SDK to export)"
    ) from exc

from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.core.status import BreakerStatus
from circuit_breaker.events import OUTCOMES
from circuit_breaker.metric_readings import (
    COUNTERS,
    DESCRIPTIONS,
    STATES,
    BreakerSource,
    counting_breakers,
    info_labels,
    next_retry_timestamp,
)
from circuit_breaker.registry import sync_breakers

__all__ = ["BreakerInstruments", "instrument"]

Read = list[tuple[CircuitBreaker, BreakerStatus]]


class BreakerInstruments:
    """The instruments over ``source``'s breakers, registered on ``meter``."""

    def __init__(self, source: BreakerSource, meter: metrics.Meter) -> None:
        self._source = source
        self._read: Read = []
        observers = {
            "circuit_breaker_state": self._state,  # first: it reads the store
            "circuit_breaker_calls": self._calls,
            "circuit_breaker_transitions": self._transitions,
            "circuit_breaker_consecutive_breaks": self._consecutive_breaks,
            "circuit_breaker_next_retry_timestamp_seconds": self._next_retry,
            "circuit_breaker_exhausted": self._exhausted,
            "circuit_breaker_info": self._info,
            "circuit_breaker_window_calls": self._window_calls,
            "circuit_breaker_window_failure_rate": self._window_failure_rate,
            "circuit_breaker_window_slow_call_rate": self._window_slow_call_rate,
        }
        for name, observe in observers.items():
            create = (
                meter.create_observable_counter
                if name in COUNTERS
                else meter.create_observable_gauge
            )
            unit = "s" if name.endswith("_seconds") else "1"
            create(name, callbacks=[observe], description=DESCRIPTIONS[name], unit=unit)

    def breakers(self) -> list[CircuitBreaker]:
        """The source's breakers now, each counting calls from here on."""
        return counting_breakers(self._source)

    def _state(self, options: CallbackOptions) -> Iterator[Observation]:
        breakers = self.breakers()
        sync_breakers(breakers)
        self._read = [(breaker, breaker.status()) for breaker in breakers]
        for breaker, status in self._read:
            for value in STATES:
                yield Observation(
                    1 if status.state == value else 0, {"breaker": breaker.name, "state": value}
                )

    def _calls(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, _status in self._read:
            counts = breaker.call_counts()
            for outcome in OUTCOMES:
                yield Observation(counts[outcome], {"breaker": breaker.name, "outcome": outcome})

    def _transitions(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, _status in self._read:
            for (old, new), count in sorted(breaker.transition_counts().items()):
                attributes = {"breaker": breaker.name, "from_state": old, "to_state": new}
                yield Observation(count, attributes)

    def _consecutive_breaks(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, status in self._read:
            yield Observation(status.consecutive_breaks, {"breaker": breaker.name})

    def _next_retry(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, status in self._read:
            yield Observation(next_retry_timestamp(status), {"breaker": breaker.name})

    def _exhausted(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, status in self._read:
            yield Observation(1 if status.exhausted else 0, {"breaker": breaker.name})

    def _info(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, status in self._read:
            yield Observation(1, {"breaker": breaker.name, **info_labels(status)})

    def _window_calls(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, status in self._read:
            if status.window is not None:
                yield Observation(status.window.calls, {"breaker": breaker.name})

    def _window_failure_rate(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, status in self._read:
            if status.window is not None:
                yield Observation(status.window.failure_rate, {"breaker": breaker.name})

    def _window_slow_call_rate(self, options: CallbackOptions) -> Iterator[Observation]:
        for breaker, status in self._read:
            if status.window is not None:
                yield Observation(status.window.slow_call_rate, {"breaker": breaker.name})


def instrument(
    registry: BreakerSource, meter_provider: MeterProvider | None = None
) -> BreakerInstruments:
    """Count calls on every breaker of ``registry`` and observe them; once per provider."""
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    instruments = BreakerInstruments(registry, provider.get_meter("circuit_breaker"))
    instruments.breakers()
    return instruments
