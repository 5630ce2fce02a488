"""Every malformed file of the corpus fails with exactly the problems listed for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from circuit_breaker.config import load_config
from circuit_breaker.errors import ConfigError

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "expected.yaml").read_text())


def test_every_corpus_file_has_expectations() -> None:
    files = {path.name for path in CORPUS.glob("*.yaml")} - {"expected.yaml"}
    assert files == set(EXPECTED)
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_reports_its_problems(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = EXPECTED[name]
    for variable, value in expected.get("env", {}).items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("CB_TEST_UNSET_URL", raising=False)

    with pytest.raises(ConfigError) as caught:
        load_config(CORPUS / name)

    message = str(caught.value)
    assert len(caught.value.problems) == expected["count"], message
    position = 0
    for fragment in expected["problems"]:
        found = message.find(fragment, position)
        assert found >= 0, f"{fragment!r} missing (in order) from:\n{message}"
        position = found + len(fragment)
    assert "Traceback" not in message
    for problem in caught.value.problems:
        assert problem.file is not None and problem.file.endswith(".yaml")
