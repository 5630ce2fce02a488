"""URLconf for the health scenario: the app mounted where the docs mount it."""

from django.urls import include, path  # type: ignore[import-untyped]

urlpatterns = [path("health/breakers/", include("circuit_breaker_django.urls"))]
