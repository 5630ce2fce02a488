"""Breaker rows (the django store's records, and the admin's anchors) and stored transitions."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.db import models, router
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from circuit_breaker.core.state import CircuitBreakerState
from circuit_breaker_django.db_clock import seq_sql

STATE_CHOICES = [(state.value, state.value.replace("_", " ")) for state in CircuitBreakerState]


class Breaker(models.Model):
    """One breaker. With the ``django`` store its columns ARE the shared record
    (times in the database server's clock, epoch seconds); with another store the
    row only anchors the admin (URLs, permissions, history)."""

    name = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=20, choices=STATE_CHOICES, default="closed")
    failure_count = models.IntegerField(default=0)
    consecutive_breaks = models.IntegerField(default=0)
    opened_at = models.FloatField(null=True, blank=True)
    retry_at = models.FloatField(null=True, blank=True)
    probe_token = models.CharField(max_length=64, null=True, blank=True)
    probe_until = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=40, null=True, blank=True)
    detail = models.CharField(max_length=200, null=True, blank=True)
    changed_at = models.FloatField(null=True, blank=True)
    changed_by = models.CharField(max_length=200, null=True, blank=True)
    last_failure_type = models.CharField(max_length=200, blank=True, default="")
    last_failure_message = models.CharField(max_length=200, blank=True, default="")
    last_failure_at = models.FloatField(null=True, blank=True)
    tripped_by = models.CharField(max_length=40, null=True, blank=True)
    window = models.TextField(blank=True, default="")  # rate-rule buckets, as JSON
    generation = models.BigIntegerField(default=0)
    seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "circuit breaker"
        verbose_name_plural = "circuit breakers"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Transition(models.Model):
    """A state change this process made: automatic (origin "local") or by hand ("manual")."""

    breaker = models.CharField(max_length=200, db_index=True)
    from_state = models.CharField(max_length=20, choices=STATE_CHOICES)
    to_state = models.CharField(max_length=20, choices=STATE_CHOICES)
    reason = models.CharField(max_length=40, blank=True, default="")
    detail = models.CharField(max_length=200, blank=True, default="")
    origin = models.CharField(
        max_length=10, choices=[("local", "automatic"), ("manual", "manual")], default="local"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor = models.CharField(max_length=200, null=True, blank=True)
    consecutive_breaks = models.IntegerField(default=0)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = "transition"

    def __str__(self) -> str:
        return f"{self.breaker}: {self.from_state} -> {self.to_state}"


def sync_breaker_rows(names: Iterable[str]) -> list[str]:
    """Make sure a row exists for each name (after ``migrate``, and when a registry is
    built or reloaded: never on a page view, which must write nothing).

    It runs on the app's own bounded connection (:mod:`circuit_breaker_django.database`):
    a database that stops answering fails the sync within ``DATABASE_TIMEOUT``. The rows
    are committed at once, outside any transaction of the caller's. One query when nothing
    is missing; otherwise one INSERT more, with ``seq`` seeded from the database clock so a
    re-created record never looks older than a deleted one. Returns the names created.
    """
    from circuit_breaker_django.database import shared_database

    wanted = sorted(set(names))
    if not wanted:
        return []
    database = shared_database(router.db_for_write(Breaker))
    return database.run(partial(_create_missing_rows, wanted), atomic=False)


def _create_missing_rows(names: list[str], cursor: CursorWrapper) -> list[str]:
    connection = cursor.db
    quote = connection.ops.quote_name
    table, name_column = quote(Breaker._meta.db_table), quote("name")
    cursor.execute(
        f"SELECT {name_column} FROM {table} WHERE {name_column} IN "
        f"({', '.join(['%s'] * len(names))})",
        names,
    )
    existing = {row[0] for row in cursor.fetchall()}
    missing = [name for name in names if name not in existing]
    if not missing:
        return []
    # Every column from the model's own defaults, except seq: the database clock in µs.
    fields = [field for field in Breaker._meta.concrete_fields if not field.primary_key]
    first_seq = seq_sql(connection.vendor)
    rows, params = [], []
    for name in missing:
        row = Breaker(name=name)
        values = []
        for field in fields:
            if field.name == "seq":
                values.append(first_seq)
            else:
                values.append("%s")
                params.append(field.get_db_prep_save(field.pre_save(row, add=True), connection))
        rows.append(f"({', '.join(values)})")
    columns = ", ".join(quote(field.column) for field in fields)
    cursor.execute(
        f"INSERT INTO {table} ({columns}) VALUES {', '.join(rows)} "
        f"ON CONFLICT ({name_column}) DO NOTHING",
        params,
    )
    return missing
