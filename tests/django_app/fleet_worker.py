"""One process of the fleet test: a breaker on the django store, driven through stdin.

``python -m tests.django_app.fleet_worker migrate`` creates the tables of a fresh
database; with no argument the worker answers one line per command line:
``call`` / ``fail`` / ``probe`` (a slow success) -> called | failed | rejected,
``hammer N`` -> N failures on a high-threshold breaker, ``count``, ``state``,
``rated THREADS N`` -> THREADS threads making N successful calls each on a rate-ruled
breaker, ``window`` -> the calls in that breaker's stored window, ``quit``.
The database comes from DATABASE_URL (see tests/django_settings.py).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from functools import partial

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from circuit_breaker import CircuitBreaker, CircuitOpenError  # noqa: E402
from circuit_breaker_django.models import Breaker  # noqa: E402
from circuit_breaker_django.store import DjangoStore  # noqa: E402

SYNC_INTERVAL = 0.2
RETRY_SECONDS = 1.0


def refuse() -> None:
    raise ConnectionError("upstream down")


def slow_success() -> None:
    time.sleep(0.5)  # real wait: the probe holds its permit while the others ask


def call_often(breaker: CircuitBreaker, calls: int) -> None:
    for _ in range(calls):
        breaker.call(lambda: None)


def run_threads(count: int, work: Callable[[], object]) -> None:
    workers = [threading.Thread(target=work) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def main() -> None:
    if sys.argv[1:] == ["migrate"]:
        call_command("migrate", verbosity=0)
        return
    store = DjangoStore(sync_interval=SYNC_INTERVAL)
    fleet = CircuitBreaker(
        2, RETRY_SECONDS / 60, 3, 5, False, name="fleet", store=store, probe_timeout_seconds=10
    )
    counted = CircuitBreaker(100_000, name="counted", store=store)
    rated = CircuitBreaker(
        None,
        name="rated",
        store=store,
        failure_rate_threshold=0.5,
        sliding_window_seconds=60,  # keeps every count of the test's short run
    )
    actions = {"call": lambda: None, "fail": refuse, "probe": slow_success}
    for line in sys.stdin:
        command, *args = line.split()
        if command == "quit":
            break
        if command == "state":
            reply = fleet.state.value
        elif command == "count":
            reply = str(Breaker.objects.get(name="counted").failure_count)
        elif command == "window":
            window = Breaker.objects.filter(name="rated").values_list("window", flat=True).first()
            reply = str(sum(bucket[1] for bucket in json.loads(window or "[]")))
        elif command == "rated":
            run_threads(int(args[0]), partial(call_often, rated, int(args[1])))
            reply = "done"
        elif command == "hammer":
            for _ in range(int(args[0])):
                with suppress(ConnectionError):
                    counted.call(refuse)
            reply = "done"
        else:
            try:
                fleet.call(actions[command])
                reply = "called"
            except CircuitOpenError:
                reply = "rejected"
            except ConnectionError:
                reply = "failed"
        print(reply, flush=True)


if __name__ == "__main__":
    main()
