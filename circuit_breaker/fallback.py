"""Fallbacks: a value for the caller instead of an exception.

A fallback is called with the exception: the :class:`CircuitOpenError` of a rejected
call and, with ``fallback_on_failure``, the exception of a call that failed, after the
breaker has counted it. Its value is returned to the caller; an exception it raises
propagates (chained to the one it was given). Breakers with a fallback take these paths
instead of the plain ones, so a breaker without one pays nothing for the feature.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from circuit_breaker.core.config import InvalidSetting
from circuit_breaker.errors import CircuitOpenError
from circuit_breaker.gate import Gate

Fallback = Callable[[Exception], Any]
"""Called with the exception; returns the value the caller gets instead (or awaitable)."""


def check_fallback(fallback: object, on_failure: object, *, inherited: object = None) -> None:
    """Reject a fallback that cannot be called, and ``fallback_on_failure`` without any
    fallback (``inherited``: the breaker's, for a decorator's own settings)."""
    if fallback is not None and not callable(fallback):
        raise InvalidSetting("fallback", "a callable taking the exception", fallback)
    if on_failure is not None and not isinstance(on_failure, bool):
        raise InvalidSetting("fallback_on_failure", "True or False", on_failure)
    if on_failure and fallback is None and inherited is None:
        raise InvalidSetting("fallback_on_failure", "given with a fallback", on_failure)


def fall_back(fallback: Fallback, exc: Exception, name: str) -> Any:
    """The fallback's value for a synchronous caller, which cannot await one."""
    value = fallback(exc)
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if close is not None:
            close()  # never awaited: no "coroutine was never awaited" warning
        raise TypeError(
            f"the fallback of circuit breaker {name!r} returned an awaitable, which a "
            "synchronous call cannot await: use call_async (or decorate an async function), "
            "or give a synchronous fallback"
        ) from exc
    return value


async def fall_back_async(fallback: Fallback, exc: Exception) -> Any:
    """The fallback's value, awaited if it is awaitable (an ``async def`` fallback)."""
    value = fallback(exc)
    if inspect.isawaitable(value):
        value = await value
    return value


def call_with_fallback(
    breaker: Gate,
    fallback: Fallback,
    on_failure: bool,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Any:
    """``breaker.call(fn, *args, **kwargs)`` with ``fallback`` taking over."""
    try:
        admission = breaker._admit()
    except CircuitOpenError as exc:
        return fall_back(fallback, exc, breaker.name)
    started = breaker._clock()
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        outcome = breaker._failed(exc, admission, started)
        if on_failure and isinstance(exc, Exception) and breaker._is_failure(outcome, exc):
            return fall_back(fallback, exc, breaker.name)
        raise
    breaker._succeeded(admission, started, result)
    return result


async def call_async_with_fallback(
    breaker: Gate,
    fallback: Fallback,
    on_failure: bool,
    fn: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Any:
    """``await breaker.call_async(fn, *args, **kwargs)`` with ``fallback`` taking over."""
    try:
        admission = await breaker._admit_async()
    except CircuitOpenError as exc:
        return await fall_back_async(fallback, exc)
    started = breaker._clock()
    try:
        result = await fn(*args, **kwargs)
    except BaseException as exc:
        outcome = await breaker._failed_async(exc, admission, started)
        if on_failure and isinstance(exc, Exception) and breaker._is_failure(outcome, exc):
            return await fall_back_async(fallback, exc)
        raise
    await breaker._succeeded_async(admission, started, result)
    return result
