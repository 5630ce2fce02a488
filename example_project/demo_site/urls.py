from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/breakers/", include("circuit_breaker_django.urls")),
    path("", include("shop.urls")),
]
