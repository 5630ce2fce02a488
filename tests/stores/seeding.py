"""Writing a record straight into a shared store's storage, as earlier operations would have.

Contract tests need deadlines in the store's past or future without waiting for them.
"""

from __future__ import annotations

import json
from typing import Any

from circuit_breaker.core.record import BreakerRecord
from circuit_breaker.stores.base import BreakerStore
from circuit_breaker.stores.redis import RedisStore
from circuit_breaker.stores.redis.script import FIELDS


def _redis_fields(record: BreakerRecord) -> dict[str, Any]:
    failure = record.last_failure
    return {
        "state": record.state.value,
        "failure_count": record.failure_count,
        "consecutive_breaks": record.consecutive_breaks,
        "opened_at": record.opened_at,
        "retry_at": record.retry_at,
        "probe_token": record.probe_token,
        "probe_until": record.probe_until,
        "reason": record.reason,
        "detail": record.detail,
        "changed_at": record.changed_at,
        "changed_by": record.changed_by,
        "failure_type": failure and failure.type,
        "failure_message": failure and failure.message,
        "failure_at": failure and failure.at,
        "tripped_by": record.tripped_by,
        "window": json.dumps([list(bucket) for bucket in record.window]) if record.window else None,
        "generation": record.generation,
        "seq": record.seq,
    }


def seed_record(store: BreakerStore, name: str, record: BreakerRecord) -> None:
    if isinstance(store, RedisStore):
        values = _redis_fields(record)
        assert set(values) == set(FIELDS)
        mapping: dict[str | bytes, str] = {
            k: "" if v is None else repr(v) if isinstance(v, float) else str(v)
            for k, v in values.items()
        }
        client = store.topology.client()  # the test owns the server: write what a script would
        client.hset(store.key(name), mapping=mapping)
        return
    from circuit_breaker_django.models import Breaker
    from circuit_breaker_django.store import to_columns

    Breaker.objects.update_or_create(name=name, defaults=to_columns(record))
