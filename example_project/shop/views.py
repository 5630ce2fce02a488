"""The shop page: a quote from the flaky upstream, or a fallback while it is down."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from circuit_breaker_django import registry
from shop.services import ExternalAPIService

FALLBACK_QUOTE = {"symbol": "ACME", "price": None, "source": "fallback"}


def _service() -> ExternalAPIService:
    return ExternalAPIService(settings.DEMO_UPSTREAM_URL)


def home(request: HttpRequest) -> HttpResponse:
    answer = _service().quote()
    context = {
        "quote": answer.data if answer.data is not None else FALLBACK_QUOTE,
        "degraded": answer.data is None,
        "problem": answer.problem,
        "breakers": registry.statuses(),
        "upstream_url": settings.DEMO_UPSTREAM_URL,
    }
    return render(request, "shop/home.html", context)


@require_POST
def pay(request: HttpRequest) -> HttpResponse:
    answer = _service().pay(amount=42)
    if answer.data is None:
        messages.error(request, f"Payment not taken, please try again later ({answer.problem}).")
    else:
        messages.success(request, f"Payment accepted: {answer.data['payment_id']}.")
    return HttpResponseRedirect(reverse("home"))
