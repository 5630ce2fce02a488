"""Retries that never retry a rejected call (the ``tenacity`` extra).

    from tenacity import retry, stop_after_attempt, wait_exponential
    from circuit_breaker.integrations.tenacity import retry_unless_open

    @retry(retry=retry_unless_open, stop=stop_after_attempt(4), wait=wait_exponential())
    def fetch_rates() -> dict:
        return breaker.call(client.get_rates)

Put the retry outside the breaker. Each attempt then goes through the breaker, so the
failures count; once it opens, the next attempt raises ``CircuitOpenError``, which
:data:`retry_unless_open` does not retry: the call fails at once instead of spending its
remaining attempts (and their waits) on a dependency the fleet already knows is down.

It combines with tenacity's other conditions, e.g. to retry only connection problems::

    retry=retry_unless_open & retry_if_exception_type(httpx.TransportError)

(the HTTP integrations' rejections are transport errors too: this still skips them).
"""

from __future__ import annotations

try:
    import tenacity
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "circuit_breaker.integrations.tenacity needs tenacity: install the `tenacity` extra "
        "of this package from where you installed it (a path, git or a wheel), or tenacity"
    ) from exc

from circuit_breaker.errors import CircuitOpenError

__all__ = ["retry_unless_open"]

retry_unless_open: tenacity.retry_base = tenacity.retry_if_not_exception_type(CircuitOpenError)
"""Retry any exception but a rejection by an open breaker (use as ``retry=``)."""
