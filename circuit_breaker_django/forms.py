"""The admin's "Open for…" form: how long, and why (the reason is kept with the transition)."""

from __future__ import annotations

from typing import Any

from django import forms

from circuit_breaker.config.durations import DURATION_FORMS, parse_duration
from circuit_breaker.core.schedule import MAX_INTERVAL_SECONDS


class OpenForForm(forms.Form):
    duration = forms.CharField(
        initial="5m",
        max_length=40,
        help_text="Like 30s, 5m or 1h30m; at most 365 days.",
    )
    reason = forms.CharField(
        required=False,
        max_length=200,
        help_text="Kept with the transition. By default: how long, and that it was by hand.",
    )

    def clean_duration(self) -> float:
        text: str = self.cleaned_data["duration"]
        try:
            seconds = parse_duration(text)
        except ValueError:
            raise forms.ValidationError(f"Expected {DURATION_FORMS}.") from None
        if not 0 < seconds <= MAX_INTERVAL_SECONDS:
            raise forms.ValidationError("Expected a duration above 0 and at most 365 days.")
        return seconds

    def arguments(self) -> dict[str, Any]:
        """What :func:`circuit_breaker_django.actions.open_for` takes (call when valid)."""
        return {
            "seconds": self.cleaned_data["duration"],
            "reason": self.cleaned_data["reason"] or None,
        }
