"""Helpers shared by the whole suite (fixtures live in conftest.py and use these)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from circuit_breaker import CircuitBreaker


class FakeClock:
    """A clock the test moves by hand: no test sleeps to wait for a breaker."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Invoke(Protocol):
    """Calls ``fn`` through a breaker by one of its four entry points, synchronously."""

    def __call__(
        self, cb: CircuitBreaker, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Any: ...


def _as_coroutine_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return run


def _call(cb: CircuitBreaker, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return cb.call(fn, *args, **kwargs)


def _call_async(cb: CircuitBreaker, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return asyncio.run(cb.call_async(_as_coroutine_function(fn), *args, **kwargs))


def _decorator(cb: CircuitBreaker, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return cb(fn)(*args, **kwargs)


def _async_decorator(
    cb: CircuitBreaker, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    return asyncio.run(cb(_as_coroutine_function(fn))(*args, **kwargs))


# The four ways into a breaker; behaviour tests run through each (see the ``invoke`` fixture).
ENTRY_POINTS: dict[str, Invoke] = {
    "call": _call,
    "call_async": _call_async,
    "decorator": _decorator,
    "async_decorator": _async_decorator,
}
