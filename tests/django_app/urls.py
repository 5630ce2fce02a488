"""URLconf for the app tests: the admin and the health endpoint."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/breakers/", include("circuit_breaker_django.urls")),
]
