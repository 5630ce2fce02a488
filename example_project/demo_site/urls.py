from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint (CIRCUIT_BREAKERS["METRICS"] registers the collector)."""
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/breakers/", include("circuit_breaker_django.urls")),
    path("metrics", metrics),
    path("", include("shop.urls")),
]
