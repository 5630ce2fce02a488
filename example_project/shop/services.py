"""The integration guide's ExternalAPIService, with its breakers from the app's registry.

Every failure -- the upstream down, or the breaker refusing to call it -- degrades to a
fallback instead of an error page.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.request import Request, urlopen

from circuit_breaker import CircuitOpenError
from circuit_breaker_django import registry

logger = logging.getLogger("shop")
TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Answer:
    """What the upstream said, or why there is nothing (``data`` None)."""

    data: Any
    problem: str | None = None


class ExternalAPIService:
    def __init__(self, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")

    def _call_internal(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        request = Request(self.api_url + path, data=body, method="GET" if body is None else "POST")
        with urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # raises for 4xx/5xx
            return json.load(response)

    def _through(self, breaker: str, path: str, payload: dict[str, Any] | None = None) -> Answer:
        try:
            return Answer(registry.get(breaker).call(self._call_internal, path, payload))
        except CircuitOpenError as exc:
            logger.info("%s", exc)
            return Answer(None, str(exc))
        except (OSError, ValueError) as exc:  # connection refused, HTTP 5xx, bad JSON
            logger.warning("upstream call %s failed: %s", path, exc)
            return Answer(None, f"the upstream failed: {exc}")

    def quote(self) -> Answer:
        return self._through("external_api", "/quote")

    def pay(self, amount: int) -> Answer:
        return self._through("payment_gateway", "/pay", {"amount": amount})
