"""Every problem in one run: a part with one problem still has the rest of it checked."""

from __future__ import annotations

import pytest

from circuit_breaker.config import load_config
from circuit_breaker.errors import ConfigError
from tests.config.yaml_files import WriteYaml


def problems(write_yaml: WriteYaml, text: str) -> list[str]:
    """``path: message`` of each problem, in the order they are reported."""
    with pytest.raises(ConfigError) as caught:
        load_config(write_yaml("breakers.yaml", text))
    return [f"{p.line}: {p.path}: {p.message}" for p in caught.value.problems]


def test_a_breaker_with_other_problems_still_has_its_profile_checked(
    write_yaml: WriteYaml,
) -> None:
    found = problems(
        write_yaml,
        """\
        breakers:
          orders_db:
            profile: dbb
            failur_threshold: 3
        """,
    )

    assert found == [
        "3: breakers.orders_db.profile: unknown profile 'dbb'; did you mean 'db'?",
        "4: breakers.orders_db.failur_threshold: unknown key 'failur_threshold'; "
        "did you mean 'failure_threshold'?",
    ]


def test_a_breaker_whose_exceptions_do_not_import_still_has_its_profile_checked(
    write_yaml: WriteYaml,
) -> None:
    found = problems(
        write_yaml,
        """\
        breakers:
          orders_db:
            profile: dbb
            ignore_exceptions: [nosuch.module.Error]
        """,
    )

    assert [line.split(": ")[1] for line in found] == [
        "breakers.orders_db.profile",
        "breakers.orders_db.ignore_exceptions[0]",
    ]


def test_defaults_with_a_problem_hide_no_problem_of_the_breakers(write_yaml: WriteYaml) -> None:
    found = problems(
        write_yaml,
        """\
        defaults:
          profile: apii
          failure_threshold: 0
        breakers:
          orders_db: {profile: dbb}
          external_api: {jitter_ratio: 2}
          search: {}
        """,
    )

    assert found == [
        "2: defaults.profile: unknown profile 'apii'; did you mean 'api'?",
        "3: defaults.failure_threshold: expected a whole number of at least 1",
        "5: breakers.orders_db.profile: unknown profile 'dbb'; did you mean 'db'?",
        "6: breakers.external_api.jitter_ratio: expected a number at least 0 and below 1",
    ]


def test_a_profile_with_other_problems_still_has_its_extends_checked(
    write_yaml: WriteYaml,
) -> None:
    found = problems(
        write_yaml,
        """\
        profiles:
          payments:
            extends: critcal
            failure_threshold: many
        breakers:
          payment_gateway: {profile: payments}
        """,
    )

    assert found == [
        "3: profiles.payments.extends: unknown profile 'critcal'; did you mean 'critical'?",
        "4: profiles.payments.failure_threshold: expected a whole number of at least 1",
    ]


def test_a_profile_with_other_problems_still_shows_its_extends_cycle(
    write_yaml: WriteYaml,
) -> None:
    found = problems(
        write_yaml,
        """\
        profiles:
          a: {extends: b, jitter_enabled: maybe}
          b: {extends: a}
        """,
    )

    assert found == [
        "2: profiles.a.jitter_enabled: expected true or false",
        "3: profiles.b.extends: profiles extend each other in a cycle: a -> b -> a",
    ]


def test_a_badly_named_breaker_hides_no_other_breaker(write_yaml: WriteYaml) -> None:
    found = problems(
        write_yaml,
        """\
        profiles:
          bad name: {}
          fine: {failure_threshold: 0}
        breakers:
          orders db: {}
          external_api: {profile: apii}
        """,
    )

    assert found == [
        "2: profiles.bad name: bad name 'bad name': "
        "expected a name made of letters, digits, '_', '-', '.' or ':'",
        "3: profiles.fine.failure_threshold: expected a whole number of at least 1",
        "5: breakers.orders db: bad name 'orders db': "
        "expected a name made of letters, digits, '_', '-', '.' or ':'",
        "6: breakers.external_api.profile: unknown profile 'apii'; did you mean 'api'?",
    ]


def test_a_malformed_redis_url_is_a_problem_of_the_store(write_yaml: WriteYaml) -> None:
    found = problems(
        write_yaml,
        """\
        store:
          backend: redis
          url: redis://cache.internal/orders
        """,
    )

    assert found == [
        "3: store.url: the db 'orders' is not a whole number in 'redis://cache.internal/orders'"
    ]


def test_a_url_for_another_backend_is_not_read_as_a_redis_url(write_yaml: WriteYaml) -> None:
    config = load_config(write_yaml("breakers.yaml", "store: {backend: memory, url: anything}\n"))

    assert config.store is not None
    assert config.store.options == {"url": "anything"}
