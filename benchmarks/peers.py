"""The peer libraries, built the way their documentation shows, behind import guards.

A peer that fails to import is reported (``missing()``) and left out of every scenario.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from types import ModuleType
from typing import Any

PEER_MODULES = {
    "pybreaker": "pybreaker",
    "circuitbreaker": "circuitbreaker",
    "aiobreaker": "aiobreaker",
    "purgatory": "purgatory",
    "interlock-cb": "interlock",
}
LONG_SECONDS = 10**6  # a recovery timeout no benchmark outlives


def load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(PEER_MODULES[name])
    except Exception:  # any import failure: the peer is left out, and reported
        return None


def missing() -> dict[str, str]:
    """Peers that cannot be imported, with the reason."""
    problems = {}
    for name, module in PEER_MODULES.items():
        try:
            importlib.import_module(module)
        except Exception as exc:
            problems[name] = f"{type(exc).__name__}: {exc}"
    return problems


def version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(name)
    except PackageNotFoundError:
        return None


def pybreaker_breaker(fail_max: int = 5, **kwargs: Any) -> Any:
    module = load("pybreaker")
    assert module is not None
    return module.CircuitBreaker(fail_max=fail_max, reset_timeout=LONG_SECONDS, **kwargs)


def circuitbreaker_breaker(failure_threshold: int = 5) -> Any:
    module = load("circuitbreaker")
    assert module is not None
    return module.CircuitBreaker(
        failure_threshold=failure_threshold, recovery_timeout=LONG_SECONDS
    )


def aiobreaker_breaker(fail_max: int = 5) -> Any:
    module = load("aiobreaker")
    assert module is not None
    return module.CircuitBreaker(fail_max=fail_max, timeout_duration=timedelta(days=10))


def purgatory_sync_factory(threshold: int = 5, uow: Any = None) -> Any:
    module = load("purgatory")
    assert module is not None
    factory = module.SyncCircuitBreakerFactory(
        default_threshold=threshold, default_ttl=LONG_SECONDS, uow=uow
    )
    factory.initialize()
    return factory


def purgatory_async_factory(threshold: int = 5) -> Any:
    module = load("purgatory")
    assert module is not None
    return module.AsyncCircuitBreakerFactory(
        default_threshold=threshold, default_ttl=LONG_SECONDS
    )


def interlock_breaker(name: str = "bench") -> Any:
    """interlock-cb as its README shows it, default configuration: a count window of 100
    calls, failure rate 50 %, slow calls (over 60 s) detected."""
    module = load("interlock-cb")
    assert module is not None
    return module.CircuitBreaker(name=name)


def interlock_windowed_breaker(
    *,
    failure_rate: float,
    window_seconds: int,
    slow_call_seconds: float,
    slow_call_rate: float,
    minimum_calls: int,
    name: str = "bench_windowed",
) -> Any:
    """interlock-cb with a time-based sliding window and slow-call detection."""
    module = load("interlock-cb")
    assert module is not None
    config = module.Config(
        failure_rate_threshold=failure_rate,
        minimum_number_of_calls=minimum_calls,
        slow_call_duration_threshold=slow_call_seconds,
        slow_call_rate_threshold=slow_call_rate,
        window_type=module.WindowType.TIME_BASED,
        window_size=window_seconds,
        wait_duration_in_open=LONG_SECONDS,
    )
    return module.CircuitBreaker(name=name, config=config)
