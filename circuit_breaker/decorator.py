"""``@breaker`` and ``@breaker(fallback=..., fallback_on_failure=...)``.

A plain function or coroutine function keeps the breaker's fast path inlined in its
wrapper; with a fallback of the decorator's own, every call takes the fallback's path.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from circuit_breaker.fallback import (
    Fallback,
    call_async_with_fallback,
    call_with_fallback,
    check_fallback,
)
from circuit_breaker.gate import Gate

P = ParamSpec("P")
R = TypeVar("R")
Entry = Callable[..., Any]
"""``breaker.call`` or ``breaker.call_async``: where a wrapper's full path goes."""


class Decorator(Protocol):
    """What ``breaker(fallback=...)`` returns: a decorator keeping the signature."""

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]], /) -> Callable[P, Awaitable[R]]: ...

    @overload
    def __call__(self, fn: Callable[P, R], /) -> Callable[P, R]: ...


@dataclass(frozen=True, slots=True)
class _Choice:
    """The decorator's own fallback settings; None leaves the breaker's."""

    fallback: Fallback | None = None
    on_failure: bool | None = None

    def resolve(self, breaker: Gate) -> tuple[Fallback | None, bool]:
        fallback = self.fallback if self.fallback is not None else breaker._fallback_handler
        on_failure = self.on_failure
        return fallback, breaker._fallback_on_failure if on_failure is None else on_failure


def decorator(
    breaker: Gate,
    call: Entry,
    call_async: Entry,
    *,
    fallback: Fallback | None,
    fallback_on_failure: bool | None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``breaker(fallback=..., fallback_on_failure=...)``: each one left out is the breaker's."""
    check_fallback(fallback, fallback_on_failure, inherited=breaker._fallback_handler)
    choice = _Choice(fallback, fallback_on_failure)
    return functools.partial(decorate, breaker, call, call_async, choice)


def decorate(
    breaker: Gate, call: Entry, call_async: Entry, choice: _Choice, fn: Callable[..., Any]
) -> Callable[..., Any]:
    if not callable(fn):
        raise TypeError(f"a circuit breaker decorates a function, got {fn!r}")
    if choice != _Choice():
        return _with_fallback(breaker, call, call_async, choice, fn)
    if inspect.iscoroutinefunction(fn):
        return _coroutine(breaker, call_async, fn)
    return _function(breaker, call, fn)


def _function(breaker: Gate, call: Entry, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        admission = breaker._hot
        if admission is not None:
            try:
                result = fn(*args, **kwargs) if kwargs else fn(*args)
            except BaseException as exc:
                breaker._failed(exc, admission, None)
                raise
            if breaker._counting:
                breaker._count_success()
            return result
        return call(fn, *args, **kwargs)

    return wrapper


def _coroutine(
    breaker: Gate, call_async: Entry, fn: Callable[..., Awaitable[Any]]
) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        admission = breaker._hot
        if admission is not None:
            try:
                result = await (fn(*args, **kwargs) if kwargs else fn(*args))
            except BaseException as exc:
                await breaker._failed_async(exc, admission, None)
                raise
            if breaker._counting:
                breaker._count_success()
            return result
        return await call_async(fn, *args, **kwargs)

    return wrapper


def _with_fallback(
    breaker: Gate, call: Entry, call_async: Entry, choice: _Choice, fn: Callable[..., Any]
) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            fallback, on_failure = choice.resolve(breaker)
            if fallback is None:
                return await call_async(fn, *args, **kwargs)
            return await call_async_with_fallback(breaker, fallback, on_failure, fn, args, kwargs)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fallback, on_failure = choice.resolve(breaker)
        if fallback is None:
            return call(fn, *args, **kwargs)
        return call_with_fallback(breaker, fallback, on_failure, fn, args, kwargs)

    return wrapper
