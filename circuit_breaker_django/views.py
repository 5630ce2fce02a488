"""The health endpoint: every breaker's state as JSON, for load balancers and readiness probes.

The verdict is the registry's (:mod:`circuit_breaker.health`): HTTP 503 only when a
``critical`` breaker is not CLOSED ("fail"); 200 otherwise, "warn" (with a ``reason``)
when another breaker is not closed or when the shared store cannot be read. How much a
caller sees depends on ``HEALTH_DETAIL``: staff users and holders of ``HEALTH_TOKEN`` see
full status; everyone else sees names and states (or, with "public", full status
without failure messages).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from circuit_breaker.errors import ConfigError, UnknownBreakerError
from circuit_breaker.health import Health
from circuit_breaker_django import registry
from circuit_breaker_django.conf import get_config

logger = logging.getLogger("circuit_breaker")

Status = dict[str, Any]
View = TypeVar("View", bound=Callable[..., HttpResponseBase | Awaitable[HttpResponseBase]])

try:  # Django 5.1+: reachable when LoginRequiredMiddleware is on
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # older Django has no such middleware

    def login_not_required(view_func: View) -> View:
        return view_func


SAFE_METHODS = ("GET", "HEAD")


def read_only(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """GET and HEAD only; any other method gets a JSON 405 naming the allowed ones.

    CSRF-exempt, or the CSRF middleware would answer a POST with its HTML 403 before
    the method is looked at; the view changes nothing, so there is nothing to forge.
    """

    @wraps(view)
    def only_safe_methods(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if request.method not in SAFE_METHODS:
            response = JsonResponse(
                {
                    "error": f"method {request.method} not allowed: use GET or HEAD",
                    "allowed": list(SAFE_METHODS),
                },
                status=405,
            )
            response["Allow"] = ", ".join(SAFE_METHODS)
            return response
        return view(request, *args, **kwargs)

    exempt: Callable[..., JsonResponse] = csrf_exempt(only_safe_methods)
    return exempt


def has_full_detail(request: HttpRequest) -> bool:
    """Staff users, and callers presenting ``Authorization: Bearer <HEALTH_TOKEN>``."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = get_config().health_token
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if not token or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), str(token).encode())


def shown(status: Status, detail: str) -> Status:
    """``status`` cut to what the caller may see: "full", "public" or "minimal"."""
    if detail == "full":
        return status
    if detail == "minimal":
        return {"state": status["state"]}
    failure = status["last_failure"]
    # Exception text can carry hosts, queries or credentials: never shown to anonymous callers.
    return {
        **status,
        "last_failure": None if failure is None else {"type": failure["type"], "at": failure["at"]},
    }


def _detail(request: HttpRequest) -> str:
    if has_full_detail(request):
        return "full"
    return "public" if get_config().health_detail == "public" else "minimal"


def _respond(request: HttpRequest, health: Health) -> JsonResponse:
    detail = _detail(request)
    body: dict[str, Any] = {"status": health.status}
    if health.reason is not None:
        body["reason"] = health.reason
    body["breakers"] = {
        name: shown(status.to_dict(), detail) for name, status in health.statuses.items()
    }
    body["checked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return JsonResponse(body, status=503 if health.status == "fail" else 200)


def _unavailable(request: HttpRequest, exc: Exception) -> JsonResponse:
    logger.error("circuit breaker health: the registry cannot be built: %s", exc)
    message = str(exc) if has_full_detail(request) else "circuit breaker configuration error"
    body = {
        "status": "fail",
        "error": message,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return JsonResponse(body, status=503)


@login_not_required
@never_cache
@read_only
def breakers_health(request: HttpRequest) -> JsonResponse:
    """Every breaker, after one store round trip."""
    try:
        health = registry.health()
    except (ConfigError, ImproperlyConfigured) as exc:
        return _unavailable(request, exc)
    return _respond(request, health)


@login_not_required
@never_cache
@read_only
def breaker_health(request: HttpRequest, name: str) -> JsonResponse:
    """One breaker; 404 for a name the registry does not know."""
    try:
        health = registry.health([name])
    except UnknownBreakerError as exc:
        return JsonResponse({"status": "fail", "error": str(exc)}, status=404)
    except (ConfigError, ImproperlyConfigured) as exc:
        return _unavailable(request, exc)
    return _respond(request, health)
