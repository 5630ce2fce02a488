"""``${VAR}`` and ``${VAR:-default}`` in configuration strings."""

from __future__ import annotations

import pytest

from circuit_breaker.config import config_from_dict, load_config
from circuit_breaker.config.envvars import EnvStr, MissingVariableError, expand
from circuit_breaker.errors import ConfigError
from tests.config.yaml_files import WriteYaml


def test_expand_forms() -> None:
    env = {"HOST": "db1", "EMPTY": ""}
    assert expand("redis://${HOST}:6379", env) == "redis://db1:6379"
    assert expand("${MISSING:-fallback}", env) == "fallback"
    assert expand("${EMPTY:-fallback}", env) == "fallback"
    assert expand("${EMPTY}", env) == ""
    assert expand("cost: $$5 ${HOST}", env) == "cost: $5 db1"
    assert expand("${MISSING:-}", env) == ""


def test_expanded_text_remembers_its_reference() -> None:
    expanded = expand("${HOST}", {"HOST": "db1"})
    assert isinstance(expanded, EnvStr)
    assert expanded.reference == "${HOST}"
    assert not isinstance(expand("plain", {}), EnvStr)
    assert not isinstance(expand("pa$$word", {}), EnvStr)


@pytest.mark.parametrize("text", ["${MISSING}", "${1X}", "${A-b}", "${unterminated", "${}"])
def test_bad_references(text: str) -> None:
    with pytest.raises(MissingVariableError):
        expand(text, {})


def test_values_are_read_as_the_keys_type() -> None:
    env = {"N": "7", "BASE": "0.5", "JITTER": "false", "TIMEOUT": "45s", "RATIO": "0.2"}
    config = config_from_dict(
        {
            "breakers": {
                "x": {
                    "failure_threshold": "${N}",
                    "base_interval_minutes": "${BASE}",
                    "jitter_enabled": "${JITTER}",
                    "probe_timeout": "${TIMEOUT}",
                    "jitter_ratio": "${RATIO}",
                    "critical": "${CRITICAL:-yes}",
                    "profile": "${PROFILE:-db}",
                }
            },
            "store": {"backend": "${BACKEND:-memory}", "sync_interval": "${SYNC:-2}"},
        },
        environ=env,
    )
    options = config.breakers["x"].config
    assert options.failure_threshold == 7
    assert options.base_interval_seconds == 30
    assert options.jitter_enabled is False
    assert options.probe_timeout_seconds == 45
    assert options.jitter_ratio == 0.2
    assert options.critical is True
    assert config.breakers["x"].profile == "db"
    assert options.max_exponential_retries == 3  # from the db profile
    assert config.store is not None
    assert config.store.backend == "memory"
    assert config.store.options == {"sync_interval": 2.0}


def test_missing_variable_names_it_with_key_path(write_yaml: WriteYaml) -> None:
    path = write_yaml("c.yaml", "breakers:\n  x:\n    failure_threshold: ${CB_NOT_SET}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    (problem,) = caught.value.problems
    assert problem.line == 3
    assert problem.path == "breakers.x.failure_threshold"
    assert "CB_NOT_SET" in problem.message


def test_variable_in_overridden_value_is_not_needed(write_yaml: WriteYaml) -> None:
    base = write_yaml("base.yaml", "store: {backend: memory, url: '${CB_NOT_SET}'}\n")
    local = write_yaml("local.yaml", "store: {url: 'redis://localhost'}\n")
    config = load_config(base, local, environ={})
    assert config.store is not None
    assert config.store.options == {"url": "redis://localhost"}


def test_unresolved_variable_in_version_is_reported_once(write_yaml: WriteYaml) -> None:
    path = write_yaml("c.yaml", "version: ${CB_NOT_SET}\nbreakers:\n  x: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (1, "version")
    assert "CB_NOT_SET" in problem.message


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("failure_threshold", "\u0665"),
        ("failure_threshold", "\uff11\uff10"),
        ("failure_threshold", "1_000"),
        ("failure_threshold", "9" * 5000),  # more digits than int() converts
        ("base_interval_minutes", "\u0660.\u0665"),
        ("jitter_ratio", "0.\u0665"),
    ],
)
def test_numbers_from_variables_need_ascii_digits(key: str, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"breakers": {"x": {key: "${N}"}}}, environ={"N": text})
    (problem,) = caught.value.problems
    assert problem.path == f"breakers.x.{key}"
    assert problem.message.startswith("expected a")
    assert problem.value == text


def test_seconds_from_a_variable_need_ascii_digits() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict(
            {"store": {"backend": "memory", "sync_interval": "${N}"}}, environ={"N": "\uff11\uff10"}
        )
    (problem,) = caught.value.problems
    assert (problem.path, problem.value) == ("store.sync_interval", "\uff11\uff10")
