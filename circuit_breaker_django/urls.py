"""``path("health/breakers/", include("circuit_breaker_django.urls"))``."""

from django.urls import path

from circuit_breaker_django import views

app_name = "circuit_breakers"
urlpatterns = [
    path("", views.breakers_health, name="health"),
    path("<str:name>/", views.breaker_health, name="breaker_health"),
]
