"""Reading YAML: aliases and merge keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from circuit_breaker.config import load_config
from circuit_breaker.errors import ConfigError
from tests.config.conftest import WriteYaml


def load_problems(path: Path) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_merge_key_values_yield_to_the_mappings_own_keys(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "merge.yaml",
        """\
        defaults: &common {failure_threshold: 4, jitter_enabled: false}
        breakers:
          a: {<<: *common, failure_threshold: 9}
          b:
            failure_threshold: 7
            <<: *common
        """,
    )

    config = load_config(path)

    assert config.breakers["a"].options["failure_threshold"] == 9
    assert config.breakers["b"].options["failure_threshold"] == 7
    assert config.breakers["b"].options["jitter_enabled"] is False


def test_merge_key_with_a_list_prefers_the_earlier_mappings(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "merge.yaml",
        """\
        profiles:
          fast: &fast {failure_threshold: 2, fixed_interval_retries: 1}
          slow: &slow {failure_threshold: 8, base_interval: 10m}
        breakers:
          x: {<<: [*fast, *slow]}
        """,
    )

    options = load_config(path).breakers["x"].options

    assert (options["failure_threshold"], options["fixed_interval_retries"]) == (2, 1)
    assert options["base_interval_minutes"] == 10


def test_merge_key_needs_mappings(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "merge.yaml",
        """\
        breakers:
          x:
            <<: [{failure_threshold: 2}, 5]
        """,
    )

    ((line, _, message),) = load_problems(path)

    assert line == 3
    assert message == "a merge key (<<) takes a mapping or a list of mappings"


def test_two_merge_keys_in_one_mapping_are_a_duplicate_key(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "merge.yaml",
        """\
        profiles:
          a: &a {failure_threshold: 2}
          b: &b {failure_threshold: 3}
        breakers:
          x:
            <<: *a
            <<: *b
        """,
    )

    ((line, _, message),) = load_problems(path)

    assert (line, message) == (7, "duplicate key '<<' (first given on line 6)")
