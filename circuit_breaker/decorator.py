"""``@breaker`` and ``@breaker(fallback=..., fallback_on_failure=...)``.

A plain function or coroutine function keeps the breaker's fast path inlined in its
wrapper; with a fallback of the decorator's own, every call takes the fallback's path.

Generator and async generator functions are judged when the generator finishes, not
when it is created: admission happens when iteration starts, running to the end is a
success, an exception is judged like one leaving ``call()``, and a generator its
consumer closes early (``break``, ``close()``) is a success: it produced what was asked
of it. A fallback's value stands in for the generator: its items are yielded instead.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from circuit_breaker.errors import CircuitOpenError
from circuit_breaker.fallback import (
    Fallback,
    call_async_with_fallback,
    call_with_fallback,
    check_fallback,
    fall_back,
    fall_back_async,
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
    if inspect.isasyncgenfunction(fn):
        return _async_generator(breaker, choice, fn)
    if inspect.isgeneratorfunction(fn):
        return _generator(breaker, choice, fn)
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


def _generator(
    breaker: Gate, choice: _Choice, fn: Callable[..., Generator[Any, Any, Any]]
) -> Callable[..., Generator[Any, Any, Any]]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        fallback, on_failure = choice.resolve(breaker)
        try:
            admission = breaker._admit()
        except CircuitOpenError as exc:
            if fallback is None:
                raise
            return (yield from fall_back(fallback, exc, breaker.name))
        started = breaker._clock()
        try:
            result = yield from fn(*args, **kwargs)
        except GeneratorExit:  # the consumer stopped early
            breaker._completed(admission, started)
            raise
        except BaseException as exc:
            outcome = breaker._failed(exc, admission, started)
            if fallback is None or not on_failure or not isinstance(exc, Exception):
                raise
            if not breaker._is_failure(outcome, exc):
                raise
            return (yield from fall_back(fallback, exc, breaker.name))
        breaker._completed(admission, started)
        return result

    return wrapper


def _async_generator(
    breaker: Gate, choice: _Choice, fn: Callable[..., AsyncGenerator[Any, Any]]
) -> Callable[..., AsyncGenerator[Any, Any]]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        fallback, on_failure = choice.resolve(breaker)
        try:
            admission = await breaker._admit_async()
        except CircuitOpenError as exc:
            if fallback is None:
                raise
            async for item in _items(await fall_back_async(fallback, exc)):
                yield item
            return
        started = breaker._clock()
        inner = None
        try:
            inner = fn(*args, **kwargs)
            item = await anext(inner)
            while True:  # what `yield from` does for generators: pass sends and throws on
                try:
                    sent = yield item
                except GeneratorExit:
                    raise
                except BaseException as thrown:
                    item = await inner.athrow(thrown)
                else:
                    item = await inner.asend(sent)
        except StopAsyncIteration:
            await breaker._completed_async(admission, started)
            return
        except GeneratorExit:  # the consumer stopped early
            if inner is not None:
                await inner.aclose()
            await breaker._completed_async(admission, started)
            raise
        except BaseException as exc:
            outcome = await breaker._failed_async(exc, admission, started)
            if fallback is None or not on_failure or not isinstance(exc, Exception):
                raise
            if not breaker._is_failure(outcome, exc):
                raise
            async for item in _items(await fall_back_async(fallback, exc)):
                yield item

    return wrapper


async def _items(value: Any) -> AsyncIterator[Any]:
    """A fallback's items: from an async iterable or a plain one."""
    if hasattr(value, "__aiter__"):
        async for item in value:
            yield item
    else:
        for item in value:
            yield item
