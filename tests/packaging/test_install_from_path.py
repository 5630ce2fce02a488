"""A service that depends on us the way the original integration guide says can import us.

The guide's pip form is ``"circuit-breaker @ file:///path/to/circuit_breaker"``: pip builds
the project from that directory. The directory here is a copy of the repository's files
(what a clone holds), named like the guide's.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.packaging.sandbox import copy_of_the_repository, fresh_venv, pip_install, run


def test_the_integration_guides_file_url_dependency_installs_and_imports(
    tmp_path: Path,
) -> None:
    project = copy_of_the_repository(tmp_path / "circuit_breaker")
    python = fresh_venv(tmp_path / "venv")

    pip_install(python, f"circuit-breaker @ {project.as_uri()}")

    report = run(
        [
            python,
            "-c",
            "import json, importlib.metadata as m\n"
            "import circuit_breaker\n"
            "from circuit_breaker import CircuitBreaker\n"
            "breaker = CircuitBreaker(failure_threshold=3, base_interval_minutes=5)\n"
            "dist = m.distribution('circuit-breaker')\n"
            "print(json.dumps({'module': circuit_breaker.__file__,\n"
            "  'state': breaker.get_status_info()['state'],\n"
            "  'source': json.loads(dist.read_text('direct_url.json'))['url']}))",
        ],
        cwd=tmp_path,
    )
    installed = json.loads(report)
    assert installed["module"].startswith(str(tmp_path / "venv")), installed
    assert installed["state"] == "closed"
    assert installed["source"] == project.as_uri()
