"""The health rule, in one place: what a readiness probe should conclude from the breakers.

"fail" when a critical breaker is not CLOSED (the service cannot do its job: take it
out of the load balancer) -- also while the shared store cannot be read, since this
process then rejects on its own state; "warn" when the shared store cannot be read (the
states shown are then the process's guesses, not the fleet's) or another breaker is not
CLOSED; "pass" otherwise. An observing breaker rejects nothing: open, it is at most
"warn". The Django health endpoint and the django-health-check class both render this
verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker.core.status import BreakerStatus

Verdict = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class Health:
    status: Verdict
    reason: str | None
    statuses: Mapping[str, BreakerStatus]


def judge(statuses: Mapping[str, BreakerStatus]) -> Health:
    not_closed = sorted(n for n, s in statuses.items() if s.state is not CircuitBreakerState.CLOSED)
    critical = [n for n in not_closed if statuses[n].critical and statuses[n].mode != "observe"]
    errors = sorted(
        {s.store.error or "no answer" for s in statuses.values() if not s.store.reachable}
    )
    unreachable = f"store unreachable: {'; '.join(errors)}" if errors else None
    if critical:
        reason = f"critical breakers not closed: {', '.join(critical)}"
        return Health("fail", f"{reason}; {unreachable}" if unreachable else reason, statuses)
    if unreachable:
        return Health("warn", unreachable, statuses)
    if not_closed:
        names = (f"{n} (observing)" if statuses[n].mode == "observe" else n for n in not_closed)
        return Health("warn", f"breakers not closed: {', '.join(names)}", statuses)
    return Health("pass", None, statuses)
