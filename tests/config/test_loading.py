"""Loading valid configurations: profiles, defaults, includes, several files."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from circuit_breaker.breaker import CircuitBreaker
from circuit_breaker.config import BUILTIN_PROFILES, config_from_dict, load_config
from circuit_breaker.config.kinds import MAX_NAME_LENGTH
from circuit_breaker.core.config import BreakerConfig
from circuit_breaker.errors import ConfigError
from tests.config.sample_errors import CardDeclined, Gateway
from tests.config.sample_judges import is_error_page
from tests.config.yaml_files import WriteYaml

EVERY_SECTION = """\
version: 1
defaults: {profile: api}
profiles:
  payments:
    extends: critical
    base_interval: 30s
breakers:
  external_api: {profile: api}
  orders_db: {profile: db, failure_threshold: 8}
  payment_gateway:
    profile: payments
    critical: true
    ignore_exceptions: [tests.config.sample_errors.CardDeclined]
store:
  backend: memory
  url: ${REDIS_URL:-redis://127.0.0.1:6379/0}
"""


def test_defaults_are_the_constructors() -> None:
    constructed = CircuitBreaker().config
    assert constructed == BreakerConfig()
    parameters = inspect.signature(CircuitBreaker).parameters
    assert parameters["failure_threshold"].default == constructed.failure_threshold
    assert parameters["base_interval_minutes"].default * 60 == constructed.base_interval_seconds


@pytest.mark.parametrize(
    ("profile", "numbers"),
    [("api", (3, 5, 3, 5)), ("db", (5, 1, 5, 3)), ("critical", (2, 10, 2, 4))],
)
def test_builtin_profiles(profile: str, numbers: tuple[int, int, int, int]) -> None:
    options = config_from_dict({"breakers": {"x": {"profile": profile}}}).breakers["x"].config
    assert (
        options.failure_threshold,
        options.base_interval_seconds / 60,
        options.fixed_interval_retries,
        options.max_exponential_retries,
    ) == numbers
    assert options.jitter_enabled is True
    assert BUILTIN_PROFILES[profile]["jitter_enabled"] is True


def test_the_api_rate_profile_judges_rates_and_recovers_like_api(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "breakers.yaml",
        "version: 1\n"
        "breakers:\n"
        "  search: {profile: api_rate}\n"
        "  search_by_count: {profile: api_rate, sliding_window: 200}\n"
        "  search_with_streak: {profile: api_rate, failure_threshold: 10}\n",
    )
    breakers = load_config(path).breakers
    config = breakers["search"].config
    assert config.failure_threshold is None
    assert config.window is not None
    assert (config.window.failure_rate, config.window.seconds, config.minimum_calls) == (
        0.5,
        60.0,
        20,
    )
    assert (config.slow_call_duration_seconds, config.slow_call_rate_threshold) == (5.0, 0.8)
    api = config_from_dict({"breakers": {"x": {"profile": "api"}}}).breakers["x"].config
    assert config.schedule == api.schedule and config.jitter_enabled
    by_count = breakers["search_by_count"].config.window
    assert by_count is not None and (by_count.calls, by_count.seconds) == (200, None)
    assert breakers["search_with_streak"].config.failure_threshold == 10


def test_a_file_with_every_section(write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    config = load_config(write_yaml("breakers.yaml", EVERY_SECTION))
    assert sorted(config.breakers) == ["external_api", "orders_db", "payment_gateway"]
    orders = config.breakers["orders_db"].config
    assert (orders.failure_threshold, orders.base_interval_seconds) == (8, 60)
    payments = config.breakers["payment_gateway"]
    assert payments.profile == "payments"
    assert payments.critical
    assert payments.config.failure_threshold == 2  # from critical
    assert payments.config.base_interval_seconds == 30  # 30s
    assert payments.config.ignore_exceptions == (CardDeclined,)
    assert not config.breakers["external_api"].critical
    assert config.store is not None
    assert config.store.backend == "memory"
    assert config.store.options == {"url": "redis://127.0.0.1:6379/0"}


def test_breaker_without_any_profile_gets_constructor_defaults() -> None:
    options = config_from_dict({"breakers": {"plain": None}}).breakers["plain"].config
    assert options == BreakerConfig()


def test_resolution_order_profile_then_defaults_then_own() -> None:
    config = config_from_dict(
        {
            "defaults": {"profile": "db", "jitter_enabled": False, "fixed_interval_retries": 1},
            "breakers": {
                "a": {},
                "b": {"fixed_interval_retries": 9},
                "c": {"profile": "critical"},
            },
        }
    )
    a, b, c = (config.breakers[name].config for name in "abc")
    assert a.failure_threshold == 5  # db profile
    assert a.jitter_enabled is False  # defaults beat the profile
    assert a.fixed_interval_retries == 1
    assert b.fixed_interval_retries == 9  # own keys beat defaults
    assert c.failure_threshold == 2 and c.fixed_interval_retries == 1
    assert config.breakers["a"].profile == "db"
    assert config.breakers["c"].profile == "critical"


def test_profile_null_opts_out_of_the_default_profile() -> None:
    config = config_from_dict({"defaults": {"profile": "db"}, "breakers": {"x": {"profile": None}}})
    assert config.breakers["x"].profile is None
    assert config.breakers["x"].config.failure_threshold == 5


def test_extends_chain_and_redefined_builtin() -> None:
    config = config_from_dict(
        {
            "profiles": {
                "api": {"failure_threshold": 4},  # redefines one key of the built-in
                "public_api": {"extends": "api", "max_interval": "1h"},
                "partner_api": {"extends": "public_api", "jitter_ratio": 0.25},
            },
            "breakers": {"partner": {"profile": "partner_api"}},
        }
    )
    options = config.breakers["partner"].config
    assert options.failure_threshold == 4
    assert options.base_interval_seconds == 300  # still the built-in api's
    assert options.max_interval_seconds == 3600
    assert options.jitter_ratio == 0.25


def test_null_max_interval_removes_a_profile_cap() -> None:
    config = config_from_dict(
        {
            "profiles": {"capped": {"max_interval_minutes": 30}},
            "breakers": {"x": {"profile": "capped", "max_interval": None}},
        }
    )
    assert config.breakers["x"].config.max_interval_seconds is None


def test_failure_statuses_from_a_profile_replaced_or_reset_by_a_breaker() -> None:
    config = config_from_dict(
        {
            "profiles": {"strict_http": {"failure_statuses": [500, 502, 503, 504, 429]}},
            "breakers": {
                "a": {"profile": "strict_http"},
                "b": {"profile": "strict_http", "failure_statuses": [503]},
                "c": {"profile": "strict_http", "failure_statuses": None},
                "d": {"failure_statuses": []},
            },
        }
    )
    statuses = {name: spec.config.failure_statuses for name, spec in config.breakers.items()}
    assert statuses == {
        "a": frozenset({429, 500, 502, 503, 504}),
        "b": frozenset({503}),
        "c": None,  # the integrations' default: 5xx and 429
        "d": frozenset(),  # no status counts: only transport errors do
    }


def test_durations_and_their_twins() -> None:
    config = config_from_dict(
        {
            "breakers": {
                "a": {"base_interval": "1h30m", "max_interval": "2h", "probe_timeout": "500ms"},
                "b": {"base_interval_minutes": 0.5, "probe_timeout_seconds": 5},
            }
        }
    )
    a, b = config.breakers["a"].config, config.breakers["b"].config
    assert (a.base_interval_seconds, a.max_interval_seconds) == (5400, 7200)
    assert a.probe_timeout_seconds == 0.5
    assert (b.base_interval_seconds, b.probe_timeout_seconds) == (30, 5)


def test_ignore_exceptions_forms() -> None:
    config = config_from_dict(
        {
            "breakers": {
                "x": {
                    "ignore_exceptions": [
                        "TimeoutError",
                        "builtins.ConnectionError",
                        "json.JSONDecodeError",
                        "tests.config.sample_errors.Gateway.Busy",
                        KeyError,  # from_dict also takes the class itself
                    ]
                }
            }
        }
    )
    assert config.breakers["x"].config.ignore_exceptions == (
        TimeoutError,
        ConnectionError,
        json.JSONDecodeError,
        Gateway.Busy,
        KeyError,
    )


def test_failure_on_result_is_imported_from_its_dotted_path(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "judged.yaml",
        """\
        profiles:
          pages: {failure_on_result: tests.config.sample_judges.is_error_page}
        breakers:
          search: {profile: pages}
          reports: {profile: pages, failure_on_result: null}  # null removes the profile's
        """,
    )
    specs = load_config(path).breakers
    assert specs["search"].config.failure_on_result is is_error_page
    assert specs["reports"].config.failure_on_result is None
    # from_dict also takes the function itself
    given = config_from_dict({"breakers": {"search": {"failure_on_result": is_error_page}}})
    assert given.breakers["search"].config.failure_on_result is is_error_page


def test_a_bad_failure_on_result_is_a_located_config_error(write_yaml: WriteYaml) -> None:
    path = write_yaml("bad.yaml", "breakers:\n  search:\n    failure_on_result: json.nope\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(path), 3)
    assert problem.path == "breakers.search.failure_on_result"
    assert problem.message == "'json' has no attribute 'nope'"


def test_include_is_relative_to_the_including_file(write_yaml: WriteYaml) -> None:
    write_yaml("shared/profiles.yaml", "profiles:\n  fleet: {extends: db, failure_threshold: 9}\n")
    main = write_yaml(
        "service/breakers.yaml",
        """\
        include: [../shared/profiles.yaml]
        breakers:
          orders_db: {profile: fleet}
        """,
    )
    config = load_config(main)
    assert config.breakers["orders_db"].config.failure_threshold == 9
    assert [Path(source).name for source in config.sources] == ["profiles.yaml", "breakers.yaml"]


def test_includer_overrides_included_and_diamonds_load_once(write_yaml: WriteYaml) -> None:
    write_yaml("common.yaml", "breakers:\n  x: {failure_threshold: 1, jitter_enabled: false}\n")
    write_yaml("left.yaml", "include: [common.yaml]\nbreakers:\n  x: {failure_threshold: 2}\n")
    write_yaml("right.yaml", "include: [common.yaml]\n")
    main = write_yaml("main.yaml", "include: [left.yaml, right.yaml]\n")
    config = load_config(main)
    options = config.breakers["x"].config
    assert options.failure_threshold == 2  # common is not re-applied after left
    assert options.jitter_enabled is False
    assert len(config.sources) == 4


def test_later_files_override_key_by_key(write_yaml: WriteYaml) -> None:
    base = write_yaml(
        "base.yaml",
        """\
        defaults: {profile: api}
        profiles:
          slow: {base_interval_minutes: 10, fixed_interval_retries: 1}
        breakers:
          orders_db: {profile: db, failure_threshold: 8, base_interval_minutes: 2}
          external_api: {}
        store: {backend: memory, key_prefix: cb}
        """,
    )
    override = write_yaml(
        "production.yaml",
        """\
        profiles:
          slow: {fixed_interval_retries: 4}
        breakers:
          orders_db: {base_interval: 30s}
          search: {profile: slow}
        store: {sync_interval: 2s}
        """,
    )
    config = load_config(base, override)
    orders = config.breakers["orders_db"].config
    assert orders.failure_threshold == 8  # kept from base
    assert orders.base_interval_seconds == 30  # the twin key replaced the earlier one
    search = config.breakers["search"].config
    assert (search.base_interval_seconds, search.fixed_interval_retries) == (600, 4)
    assert config.breakers["external_api"].profile == "api"
    assert config.store is not None
    assert config.store.options == {"key_prefix": "cb", "sync_interval": 2.0}


def test_yaml_anchors_and_merge_keys(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "anchors.yaml",
        """\
        defaults: &common {failure_threshold: 4, jitter_enabled: false}
        breakers:
          a: {<<: *common, critical: true}
          b: *common
        """,
    )
    config = load_config(path)
    assert config.breakers["a"].config.failure_threshold == 4
    assert config.breakers["a"].critical
    assert config.breakers["b"].config.jitter_enabled is False


def test_empty_file_and_empty_sections(write_yaml: WriteYaml) -> None:
    assert load_config(write_yaml("empty.yaml", "")).breakers == {}
    config = load_config(write_yaml("sections.yaml", "breakers:\nprofiles:\ndefaults:\n"))
    assert config.breakers == {} and config.store is None


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yaml")
    assert "absent.yaml: file not found" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_no_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no configuration file"):
        load_config()


def test_problem_details(write_yaml: WriteYaml) -> None:
    path = write_yaml("bad.yaml", "breakers:\n  orders_db:\n    failure_threshold: -2\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == (str(path), 3)
    assert problem.path == "breakers.orders_db.failure_threshold"
    assert problem.value == -2 and problem.has_value
    assert "expected a whole number of at least 1" in problem.message


def test_dict_problems_have_key_paths() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"breakers": {"x": {"failure_treshold": 3}}, 5: "x"})
    text = str(caught.value)
    assert "<config>: breakers.x.failure_treshold: unknown key" in text
    assert "did you mean 'failure_threshold'?" in text
    assert "keys must be text" in text


def test_unsafe_tag_never_runs(write_yaml: WriteYaml, tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    path = write_yaml(
        "evil.yaml",
        f"breakers:\n  x: !!python/object/apply:pathlib.Path.touch [{str(marker)!r}]\n",
    )
    with pytest.raises(ConfigError, match=r"evil\.yaml:2"):
        load_config(path)
    assert not marker.exists()


def test_names_fit_the_database_columns() -> None:
    longest = "x" * MAX_NAME_LENGTH
    config = config_from_dict(
        {"profiles": {longest: {"extends": "db"}}, "breakers": {longest: {"profile": longest}}}
    )
    assert config.breakers[longest].profile == longest

    with pytest.raises(ConfigError) as caught:
        config_from_dict({"breakers": {"x": {"profile": longest + "x"}}})
    (problem,) = caught.value.problems
    assert problem.path == "breakers.x.profile"
    assert problem.message == "expected a name of at most 200 characters (this one has 201)"
