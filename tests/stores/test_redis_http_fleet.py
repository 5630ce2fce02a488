"""A server's back-off across a fleet: one process is told "429, Retry-After: 2", and four
real processes sharing Redis hold off for two seconds, then let exactly one probe through."""

from __future__ import annotations

import multiprocessing

import pytest

from tests.integrations.upstream import running
from tests.redis_servers import RedisServer
from tests.stores import fleet_workers
from tests.stores.fleet_runs import gather_reports

SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 4
RUN_SECONDS = 3.5
PROBE_SECONDS = 0.3  # how long the upstream holds each /delay request
SLACK = 0.05  # scheduling and clock reading


@pytest.mark.e2e
def test_a_retry_after_in_one_process_holds_off_the_fleet_then_one_probe(
    redis_server: RedisServer, key_prefix: str
) -> None:
    with running() as upstream:
        ready, triggered, results = SPAWN.Barrier(PROCESSES), SPAWN.Event(), SPAWN.Queue()
        processes = [
            SPAWN.Process(
                target=fleet_workers.http_back_off,
                args=(
                    redis_server.url,
                    key_prefix,
                    upstream.url("").rstrip("/"),
                    index,
                    RUN_SECONDS,
                    ready,
                    triggered,
                    results,
                ),
            )
            for index in range(PROCESSES)
        ]
        reports = gather_reports(processes, results)

    told = upstream.hits_on("/status/429")[0].at
    work = sorted(hit.at for hit in upstream.hits_on("/delay/0.3"))
    print(f"\nfirst call after {work[0] - told:.3f} s; the next {work[1] - work[0]:.3f} s later")
    assert sum(r["unexpected"] for r in reports) == 0
    # Nothing reached the upstream for two seconds, in any process.
    assert work[0] >= told + 2.0 - SLACK
    for report in reports:
        assert report["rejected"], f"process {report['index']} was never held off"
        assert max(report["rejected"]) >= told + 2.0 - 0.2
        assert all(sent >= told + 2.0 - SLACK for sent in report["ok"])
        assert report["ok"], f"process {report['index']} never got through again"
    # Then exactly one probe: nobody else got through while it was out.
    assert work[1] >= work[0] + PROBE_SECONDS - SLACK
    local = [change for r in reports for change in r["changes"] if change[3] == "local"]
    assert sorted(change[:3] for change in local) == [
        ("closed", "open", "open_for"),
        ("half_open", "closed", "probe_succeeded"),
        ("open", "half_open", "retry_due"),
    ]
