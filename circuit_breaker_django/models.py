"""Breaker rows (the django store's records, and the admin's anchors) and stored transitions."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils import timezone

from circuit_breaker.core.state import CircuitBreakerState

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
    changed_at = models.FloatField(null=True, blank=True)
    changed_by = models.CharField(max_length=200, null=True, blank=True)
    last_failure_type = models.CharField(max_length=200, blank=True, default="")
    last_failure_message = models.CharField(max_length=200, blank=True, default="")
    last_failure_at = models.FloatField(null=True, blank=True)
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


def sync_breaker_rows(names: Iterable[str] | None = None) -> list[str]:
    """Make sure a row exists for each name (default: every registry breaker).

    One query when nothing is missing; the missing rows are bulk-created with ``seq``
    seeded from the clock, so a re-created record never looks older than a deleted one.
    Returns the names created.
    """
    from circuit_breaker_django import registry
    from circuit_breaker_django.store import database_now

    wanted = set(registry.names() if names is None else names)
    if not wanted:
        return []
    existing = set(Breaker.objects.filter(name__in=wanted).values_list("name", flat=True))
    missing = sorted(wanted - existing)
    if missing:
        seq = int(database_now(Breaker.objects.db) * 1_000_000)
        Breaker.objects.bulk_create(
            [Breaker(name=name, seq=seq) for name in missing], ignore_conflicts=True
        )
    return missing
