"""The HTTP integrations' shared rules: breaker names from a template, Retry-After values."""

from __future__ import annotations

import email.utils

import pytest

from circuit_breaker.config.kinds import is_name
from circuit_breaker.integrations.http_common import (
    breaker_name,
    check_template,
    retry_after_seconds,
)

NOW = 1_700_000_000.0


def clock() -> float:
    return NOW


@pytest.mark.parametrize(
    ("template", "scheme", "host", "port", "expected"),
    [
        ("{host}", "https", "api.example.com", None, "api.example.com"),
        ("{host}:{port}", "https", "api.example.com", None, "api.example.com:443"),
        ("{host}:{port}", "http", "api.example.com", None, "api.example.com:80"),
        ("{scheme}-{host}-{port}", "http", "10.0.0.7", 8080, "http-10.0.0.7-8080"),
        ("{host}", "http", "::1", None, "0::1"),
        ("[{host}]:{port}", "http", "fe80::1", 8080, "fe80::1:8080"),
        ("{{{host}}}", "http", "a.example", None, "_a.example_"),
        ("api {host}/v1", "http", "a.example", None, "api_a.example_v1"),
        ("{host}", "http", "-leading.example", None, "_-leading.example"),
        ("payments", "https", "anything.example", None, "payments"),
        ("{host}:{port}", "unix", "socket", None, "socket:"),
    ],
)
def test_names_are_filled_in_and_made_acceptable_to_a_configuration_file(
    template: str, scheme: str, host: str, port: int | None, expected: str
) -> None:
    name = breaker_name(template, scheme, host, port)
    assert name == expected
    assert is_name(name)


def test_a_long_name_is_cut_to_200_characters_and_keeps_long_names_apart() -> None:
    first = breaker_name("{host}", "https", "a" * 250 + ".example", None)
    second = breaker_name("{host}", "https", "a" * 251 + ".example", None)
    assert len(first) == len(second) == 200
    assert first != second
    assert first.startswith("a" * 191 + "-")
    assert is_name(first) and is_name(second)


@pytest.mark.parametrize(
    "template", ["{path}", "{host}{0}", "{}", "{host.attr}", "{host!r}", "{port:05d}"]
)
def test_templates_with_other_fields_are_refused(template: str) -> None:
    with pytest.raises(ValueError, match="may use"):
        check_template(template)


@pytest.mark.parametrize("template", ["", None, 42])
def test_a_template_must_be_text(template: object) -> None:
    with pytest.raises(ValueError, match="non-empty template"):
        check_template(template)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (" 120 ", 120.0),
        ("600", 600.0),
        ("601", 600.0),  # capped
        ("9" * 5000, 600.0),  # capped, without converting 5,000 digits
        (email.utils.formatdate(NOW + 90, usegmt=True), 90.0),  # IMF-fixdate
        ("Tuesday, 14-Nov-23 22:15:00 GMT", 100.0),  # RFC 850, NOW + 100
        ("Tue Nov 14 22:15:00 2023", 100.0),  # asctime, no zone: UTC
        ("Fri, 31 Dec 9999 23:59:59 GMT", 600.0),  # capped
    ],
)
def test_retry_after_values(value: str, seconds: float) -> None:
    assert retry_after_seconds(value, 600.0, clock) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0",
        "-5",
        "1.5",
        "+30",
        "soon",
        "٣٠",  # digits, but not ASCII ones
        email.utils.formatdate(NOW - 60, usegmt=True),  # already past
        "Mon, 99 Foo 2020 99:99:99 GMT",
    ],
)
def test_retry_after_values_that_ask_for_nothing(value: str) -> None:
    assert retry_after_seconds(value, 600.0, clock) is None
