# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck docs package-check pytest pytest-postgres demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# The Django tests run on SQLite, then again on PostgreSQL when it is reachable
# (DATABASE_URL, default: the local server); under CI=true PostgreSQL must be there.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test

test: lint typecheck docs package-check pytest pytest-postgres

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict circuit_breaker circuit_breaker_django

# The documentation site, into site/ (offline: see mkdocs.yml). NO_MKDOCS_2_WARNING turns
# off a notice about the theme's future that mkdocs-material prints on every build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The sdist and the wheel: built, checked, and the wheel installed and run with Django.
package-check: $(STAMP)
	$(BIN)/python -m tests.packaging.check_package

pytest: $(STAMP)
	$(BIN)/pytest

pytest-postgres: $(STAMP)
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(POSTGRES_URL)').close()" 2>/dev/null; then \
		DATABASE_URL=$(POSTGRES_URL) $(BIN)/pytest tests/django_app tests/django_admin tests/stores/test_store_contract.py; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(POSTGRES_URL) is not reachable (required under CI=true)"; exit 1; \
	else \
		echo "PostgreSQL at $(POSTGRES_URL) not reachable: Django tests ran on SQLite only"; \
	fi

# The demo's ports: make demo PORT=8080 UPSTREAM_PORT=8091
PORT ?= 8000
UPSTREAM_PORT ?= 8001

demo: $(STAMP)
	PORT=$(PORT) UPSTREAM_PORT=$(UPSTREAM_PORT) bash example_project/run_demo.sh

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache site build dist
