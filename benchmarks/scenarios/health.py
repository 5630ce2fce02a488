"""``GET /health/breakers/`` with 1,000 breakers: time and store round trips.

Django is configured in this process (the benchmark is its own project): the app's
registry reads the 1,000-breaker YAML and keeps state in the private Redis, so round
trips are counted at the redis-py socket. Without Redis the memory store is used and
round trips are not counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import fleet_yaml
from benchmarks.context import Context
from benchmarks.harness import repeat_timed
from benchmarks.redis_server import RoundTripCounter
from benchmarks.report import Row, skipped
from benchmarks.scenarios.optional import find

BREAKERS = 1000
TARGET_MS = 100.0
TARGET = f"< {TARGET_MS:g} ms, 1 store round trip"
URL = "/health/breakers/"


def _configure_django(config: Path, store: str, database: Path) -> None:
    import django  # type: ignore[import-untyped]
    from django.conf import settings  # type: ignore[import-untyped]

    if settings.configured:
        raise RuntimeError("Django is already configured in this process")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="benchmarks.health_urls",
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "circuit_breaker_django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)}},
        USE_TZ=True,
        CIRCUIT_BREAKERS={"CONFIG": [config], "STORE": store, "HEALTH_DETAIL": "public"},
    )
    django.setup()
    from django.core.management import call_command  # type: ignore[import-untyped]

    call_command("migrate", verbosity=0, interactive=False)


def run(context: Context) -> list[Row]:
    for module, attributes in (
        ("circuit_breaker_django.urls", ()),
        ("circuit_breaker.registry", ("load_registry",)),
    ):
        found, reason = find(module, *attributes)
        if found is None:
            return [skipped("health", str(reason), TARGET)]
    try:
        import django  # noqa: F401
    except ImportError:
        return [skipped("health", "Django is not installed", TARGET)]

    redis_reason = context.redis.unavailable
    store = "memory" if redis_reason else context.redis.url
    config = fleet_yaml.write(context.workdir / "health-1000.yaml", BREAKERS)
    _configure_django(config, store, context.workdir / "health.sqlite3")

    from django.test import Client  # type: ignore[import-untyped]

    client = Client()
    first = client.get(URL)  # builds the registry and the store connection
    body: Any = first.json()
    if len(body.get("breakers", {})) != BREAKERS:
        raise RuntimeError(
            f"{URL} answered {first.status_code} with {len(body.get('breakers', {}))} "
            f"breakers, expected {BREAKERS}"
        )
    rounds = 3 if context.quick else 15
    sample = repeat_timed(lambda: client.get(URL), rounds)
    with RoundTripCounter().counting() as trips:
        client.get(URL)
    row = Row(
        "health",
        f"GET {URL} ({BREAKERS} breakers)",
        "ms",
        sample.median / 1e6,
        target=TARGET,
        spread=sample.spread,
        notes=f"store {'memory' if redis_reason else 'redis'}; {rounds} requests; "
        f"HTTP {first.status_code}",
    )
    trips_row = Row(
        "health",
        "store round trips per request",
        "trips",
        None if redis_reason else float(trips.count),
        target="1",
        notes=f"not counted: {redis_reason}" if redis_reason else "counted at the redis-py socket",
    )
    fast = row.ours is not None and row.ours < TARGET_MS
    one_trip = trips_row.ours == 1 or redis_reason is not None
    row.judge(fast and one_trip, context.quick)
    trips_row.judge(trips_row.ours == 1, context.quick)
    if redis_reason:
        trips_row.verdict = "INFO"
    return [row, trips_row]
