"""The app's configuration: what Django runs once the app registry is ready."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import setting_changed
from django.db.models.signals import post_migrate

from circuit_breaker.stores import register_store_backend


class CircuitBreakerConfig(AppConfig):
    name = "circuit_breaker_django"
    verbose_name = "Circuit breakers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from circuit_breaker_django import bootstrap, checks, registry

        del checks  # imported for its @register decorators
        register_store_backend("django", "circuit_breaker_django.store:from_options")
        setting_changed.connect(registry.settings_changed, dispatch_uid="circuit_breaker_django")
        post_migrate.connect(
            bootstrap.rows_after_migrate, sender=self, dispatch_uid="circuit_breaker_django"
        )
