"""Manual control with a name on it, and the listener that stores every transition.

The admin and the ``breakers`` command both call :func:`reset`, :func:`force_open`,
:func:`disable` and :func:`open_for`, so every manual change is stored as a
``Transition`` with its user.
Storing a row never breaks a call: database errors are logged and swallowed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, router, transaction

from circuit_breaker import CircuitBreaker
from circuit_breaker.events import BreakerEvent
from circuit_breaker.format import format_duration

logger = logging.getLogger("circuit_breaker")

# The user behind the manual change being made in this thread or task, if any.
_manual_user: ContextVar[Any] = ContextVar("circuit_breaker_manual_user", default=None)


def actor_name(user: Any) -> str | None:
    """What ``Transition.actor`` says: the user name, or None for nobody."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    name: str = user.get_username()
    return name


def _manual(method: Callable[..., None], user: Any, actor: str | None) -> None:
    token = _manual_user.set(user)
    try:
        method(actor=actor if actor is not None else actor_name(user))
    finally:
        _manual_user.reset(token)


def reset(breaker: CircuitBreaker, user: Any = None, *, actor: str | None = None) -> None:
    """Back to automatic CLOSED; stored as a manual transition by ``user`` (or ``actor``)."""
    _manual(breaker.reset, user, actor)


def force_open(breaker: CircuitBreaker, user: Any = None, *, actor: str | None = None) -> None:
    """Reject every call until a reset; stored as a manual transition."""
    _manual(breaker.force_open, user, actor)


def disable(breaker: CircuitBreaker, user: Any = None, *, actor: str | None = None) -> None:
    """Let every call through uncounted until a reset; stored as a manual transition."""
    _manual(breaker.disable, user, actor)


def open_for(
    breaker: CircuitBreaker,
    user: Any = None,
    *,
    seconds: float,
    reason: str | None = None,
    actor: str | None = None,
) -> None:
    """Stay open ``seconds`` in every process, then let one probe through; stored as a
    manual transition whose detail is ``reason`` (by default, how long and that it was by
    hand). Like the server's back-off, it leaves a forced-open or disabled breaker alone."""
    detail = reason or f"opened by hand for {format_duration(seconds, compact=True)}"

    def apply(*, actor: str | None) -> None:
        # An actor is what makes open_for a manual action (store reached, or an error).
        breaker.open_for(seconds, reason=detail, actor=actor or __name__)

    _manual(apply, user, actor)


def _write(fields: dict[str, Any]) -> None:
    from circuit_breaker_django.models import Transition

    using = router.db_for_write(Transition)
    try:
        with transaction.atomic(using=using):
            Transition.objects.using(using).create(**fields)
    except DatabaseError:
        logger.warning("could not store a circuit breaker transition %s", fields, exc_info=True)


def record_transition(event: BreakerEvent) -> None:
    """Breaker listener: store each state change this process made as a ``Transition``.

    Remote changes are not stored again: the process that made them stored them.
    """
    if event.kind != "state_change" or event.origin != "local":
        return
    assert event.old is not None and event.new is not None
    user = _manual_user.get()
    manual = event.actor is not None or user is not None
    fields = {
        "breaker": event.breaker,
        "from_state": event.old.value,
        "to_state": event.new.value,
        "reason": event.reason or "",
        "detail": event.detail or "",
        "origin": "manual" if manual else "local",
        "user": user if user is not None and getattr(user, "pk", None) is not None else None,
        "actor": event.actor,
        "consecutive_breaks": event.consecutive_breaks or 0,
    }
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _write(fields)
        return
    # On an event loop (call_async with an in-memory store): the ORM must not run here.
    loop.run_in_executor(None, _write, fields)
