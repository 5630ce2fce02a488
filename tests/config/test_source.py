"""Reading YAML: aliases and merge keys, and documents built to exhaust the reader."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from circuit_breaker.config import config_from_dict, load_config, source
from circuit_breaker.config.source import MAX_DEPTH
from circuit_breaker.errors import ConfigError
from tests.config.yaml_files import WriteYaml


def laughs(indent: str) -> list[str]:
    """List items ``&a [x,...]``, ``&b [*a,...]``... ``&i``: 9**9 values in nine lines."""
    lines = [f"{indent}- &a [x,x,x,x,x,x,x,x,x]"]
    for below, name in pairwise("abcdefghi"):
        lines.append(f"{indent}- &{name} [{','.join([f'*{below}'] * 9)}]")
    return lines


def load_problems(path: Path) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def test_alias_bomb_under_a_breaker_is_refused_where_aliases_repeat_a_value(
    write_yaml: WriteYaml,
) -> None:
    text = "\n".join(
        ["version: 1", "breakers:", "  x:", "    ignore_exceptions:", *laughs("      ")]
    )
    assert len(text) < 500
    path = write_yaml("bomb.yaml", text + "\n")

    ((line, key_path, message),) = load_problems(path)

    # &f would cross the bound: it repeats &e (66,430 values), written on line 9.
    assert (line, key_path) == (9, "breakers.x.ignore_exceptions[4]")
    assert message.startswith("aliases repeat this value (66,430 values) until the document ")
    assert "expands to more than 250,000 values" in message


def test_alias_bomb_under_an_unknown_key_is_refused(write_yaml: WriteYaml) -> None:
    path = write_yaml("bomb.yaml", "\n".join(["version: 1", "lol:", *laughs("  ")]) + "\n")

    ((line, key_path, message),) = load_problems(path)

    assert (line, key_path) == (7, "lol[4]")
    assert "until the document expands to more than 250,000 values" in message


def test_a_refused_value_that_aliases_repeat_is_reported_once(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "repeat.yaml",
        """\
        profiles:
          odd: &odd {ignore_exceptions: !!set {KeyError: null}}
        breakers:
          a: *odd
          b: *odd
        """,
    )

    problems = load_problems(path)

    assert [(line, message[:24]) for line, _, message in problems] == [
        (2, "the YAML tag '!!set' is ")
    ]


def test_deep_nesting_is_a_config_error_not_a_recursion_error(write_yaml: WriteYaml) -> None:
    path = write_yaml("deep.yaml", "version: 1\nbreakers:\n  x: " + "[" * 400 + "]" * 400 + "\n")

    ((line, _, message),) = load_problems(path)

    assert line == 3
    assert message.startswith(f"values are nested more than {MAX_DEPTH} levels deep")


def test_aliases_chained_deeper_than_the_bound_are_refused(write_yaml: WriteYaml) -> None:
    chain = ["- &l0 [x]"] + [f"- &l{n} [*l{n - 1}]" for n in range(1, 400)]
    path = write_yaml("chain.yaml", "version: 1\nlinks:\n" + "".join(f"  {c}\n" for c in chain))

    ((line, _, message),) = load_problems(path)

    # &l60 holds 62 levels; *l60 inside &l61 (at level 4) would reach level 65.
    assert (MAX_DEPTH, line) == (64, 63)
    assert f"nested more than {MAX_DEPTH} levels deep" in message


@pytest.mark.parametrize("extra", [0, 1])
def test_nesting_is_read_up_to_the_bound(write_yaml: WriteYaml, extra: int) -> None:
    lists = MAX_DEPTH - 4 + extra  # under the top level, breakers and x; a number inside
    nested = "[" * lists + "1" + "]" * lists
    path = write_yaml("nested.yaml", f"breakers:\n  x:\n    jitter_ratio: {nested}\n")

    ((line, key_path, message),) = load_problems(path)

    if extra:
        assert message.startswith(f"values are nested more than {MAX_DEPTH} levels deep")
    else:  # read, and refused by validation only
        assert (line, key_path) == (3, "breakers.x.jitter_ratio")
        assert message.startswith("expected a number")


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

    assert config.breakers["a"].config.failure_threshold == 9
    assert config.breakers["b"].config.failure_threshold == 7
    assert config.breakers["b"].config.jitter_enabled is False


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

    options = load_config(path).breakers["x"].config

    assert (options.failure_threshold, options.fixed_interval_retries) == (2, 1)
    assert options.base_interval_seconds == 600


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


def test_aliased_text_is_substituted_once_for_each_use(write_yaml: WriteYaml) -> None:
    path = write_yaml(
        "dollars.yaml",
        """\
        store: {backend: memory, key_prefix: &prefix "cb$${CB_TEST_NOT_A_REFERENCE}"}
        profiles:
          p: {ignore_exceptions: [*prefix]}
        """,
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"CB_TEST_NOT_A_REFERENCE": "x"})

    (problem,) = caught.value.problems  # the prefix itself is valid text
    assert problem.value == "cb${CB_TEST_NOT_A_REFERENCE}"


def test_a_mapping_that_contains_itself_is_a_config_error() -> None:
    body: dict[str, object] = {"failure_threshold": 3}
    body["again"] = body

    with pytest.raises(ConfigError) as caught:
        config_from_dict({"breakers": {"x": body}})

    (problem,) = caught.value.problems
    assert problem.message.startswith(f"values are nested more than {MAX_DEPTH} levels deep")
    assert "does a value contain itself?" in problem.message


def test_deep_nesting_is_a_config_error_with_the_pure_python_parser(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "_Loader", yaml.SafeLoader)  # as without libyaml
    path = write_yaml("deep.yaml", "breakers:\n  x: " + "[" * 3000 + "]" * 3000 + "\n")

    ((line, _, message),) = load_problems(path)

    assert line is None
    assert message.startswith(f"values are nested more than {MAX_DEPTH} levels deep")
