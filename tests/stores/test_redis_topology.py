"""Redis topologies: store options checked without I/O, then clients for one server, a unix
socket, TLS with a password, a Redis Cluster and a Sentinel-managed primary, each used for
real (PING, a script reading the server clock)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from circuit_breaker.stores.redis.options import (
    OptionProblem,
    RedisOptions,
    RedisOptionsError,
    Topology,
    option_problems,
    redact,
)
from circuit_breaker.stores.redis.topology import (
    UNAVAILABLE_ERRORS,
    ClusterTopology,
    RedisCheckError,
    RedisTopology,
    SentinelTopology,
    ServerTopology,
    connect,
)
from tests.redis_servers import ExternalRedis, RedisServer
from tests.redis_topologies import (
    ACL_PASSWORD,
    ACL_USER,
    PASSWORD,
    ClusterFactory,
    LocalCluster,
    LocalSentinel,
    SentinelFactory,
    TlsRedis,
    UnixRedis,
    free_port,
    wait_until,
)

# One key, the server's clock, a write: the shape of the store's transition scripts.
CLOCK_SCRIPT = """
local clock = redis.call('TIME')
redis.call('HSET', KEYS[1], 'at', clock[1])
return clock
"""

SENTINELS = ["127.0.0.1:26379", "127.0.0.1:26380"]


def problems_by_key(options: dict[str, Any]) -> dict[str, str]:
    return {str(problem): problem.key for problem in option_problems(options)}


def only_problem(options: dict[str, Any]) -> OptionProblem:
    problems = option_problems(options)
    assert len(problems) == 1, problems
    return problems[0]


def round_trip(topology: RedisTopology, key: str) -> None:
    """PING, then a one-key script that reads the server clock, on the shared client."""
    client = topology.client()
    assert client.ping()
    # EVALSHA routed by the key's slot on a cluster (the types-redis stubs predate that).
    script = client.register_script(CLOCK_SCRIPT)  # type: ignore[union-attr]
    seconds, _micros = script(keys=[key])
    assert abs(int(seconds) - time.time()) < 60


@pytest.fixture
def key() -> str:
    return f"cbtest-topology:{{{uuid.uuid4().hex[:10]}}}"


@pytest.fixture
def closing() -> Iterator[list[RedisTopology]]:
    """Topologies this test builds, closed when it ends."""
    topologies: list[RedisTopology] = []
    yield topologies
    for topology in topologies:
        topology.close()


def build(closing: list[RedisTopology], options: dict[str, Any]) -> RedisTopology:
    topology = connect(options)
    closing.append(topology)
    return topology


# -- options, checked without I/O --------------------------------------------------------


def test_no_options_mean_the_local_default_server_with_the_store_defaults() -> None:
    options = RedisOptions.from_mapping({})
    assert (options.topology, options.host, options.port, options.db) == (
        Topology.SERVER,
        "127.0.0.1",
        6379,
        0,
    )
    assert (options.key_prefix, options.sync_interval, options.idle_ttl_seconds) == (
        "circuit_breaker",
        1.0,
        7 * 86400,
    )
    assert options.socket_connect_timeout == options.socket_timeout == 0.25


def test_the_url_gives_address_db_credentials_and_tls() -> None:
    options = RedisOptions.from_mapping(
        {"url": "rediss://user:p%40ss@redis.internal:6380/3", "ssl_ca_certs": "ca.pem"}
    )
    assert (options.host, options.port, options.db, options.tls) == (
        "redis.internal",
        6380,
        3,
        True,
    )
    assert (options.username, options.password) == ("user", "p@ss")
    assert "p@ss" not in repr(options)


def test_a_unix_url_gives_the_socket_path_and_the_db_from_its_query() -> None:
    options = RedisOptions.from_mapping({"url": "unix:///run/redis/redis.sock?db=2"})
    assert (options.unix_socket, options.db, options.host) == ("/run/redis/redis.sock", 2, None)


def test_socket_connect_timeout_defaults_to_socket_timeout() -> None:
    options = RedisOptions.from_mapping({"socket_timeout": 0.5})
    assert options.socket_connect_timeout == 0.5
    options = RedisOptions.from_mapping({"socket_timeout": 0.5, "socket_connect_timeout": 2})
    assert options.socket_connect_timeout == 2.0


def test_cluster_takes_any_one_node_as_url() -> None:
    options = RedisOptions.from_mapping({"url": "redis://10.0.0.5:7000", "cluster": True})
    assert (options.topology, options.host, options.port) == (Topology.CLUSTER, "10.0.0.5", 7000)


@pytest.mark.parametrize(
    "url",
    [None, "redis://", "rediss://:secret@/2", "redis://user:secret@/0", "redis:///1"],
)
def test_with_sentinels_the_url_is_optional_and_carries_only_scheme_credentials_and_db(
    url: str | None,
) -> None:
    options: dict[str, Any] = {"sentinels": SENTINELS, "service_name": "cache"}
    if url is not None:
        options["url"] = url
    parsed = RedisOptions.from_mapping(options)
    assert parsed.topology is Topology.SENTINEL
    assert parsed.sentinels == (("127.0.0.1", 26379), ("127.0.0.1", 26380))
    assert (parsed.host, parsed.port) == (None, None)


def test_sentinel_url_settings_reach_the_data_nodes() -> None:
    options = RedisOptions.from_mapping(
        {"sentinels": SENTINELS, "service_name": "cache", "url": "rediss://bot:secret@/2"}
    )
    assert (options.tls, options.username, options.password, options.db) == (
        True,
        "bot",
        "secret",
        2,
    )


def test_sentinels_may_be_one_comma_separated_string_and_ipv6() -> None:
    options = RedisOptions.from_mapping(
        {"sentinels": "10.0.0.1:26379, [::1]:26380", "service_name": "cache"}
    )
    assert options.sentinels == (("10.0.0.1", 26379), ("::1", 26380))


@pytest.mark.parametrize(
    ("options", "key", "words"),
    [
        pytest.param(
            {"cluster": True, "sentinels": SENTINELS, "service_name": "cache"},
            "sentinels",
            "cannot be combined with cluster",
            id="cluster-with-sentinels",
        ),
        pytest.param({"sentinels": SENTINELS}, "service_name", "required", id="no-service-name"),
        pytest.param({"service_name": "cache"}, "service_name", "only used", id="stray-service"),
        pytest.param(
            {"url": "redis://h/0", "ssl_ca_certs": "ca.pem"},
            "ssl_ca_certs",
            "rediss://",
            id="ssl-ca-on-plain-url",
        ),
        pytest.param(
            {"url": "redis://h/0", "ssl_certfile": "c.pem"},
            "ssl_certfile",
            "rediss://",
            id="ssl-cert-on-plain-url",
        ),
        pytest.param(
            {"url": "unix:///tmp/r.sock", "ssl_ca_certs": "ca.pem"},
            "ssl_ca_certs",
            "rediss://",
            id="ssl-on-unix-url",
        ),
        pytest.param(
            {"sentinels": SENTINELS, "service_name": "cache", "ssl_ca_certs": "ca.pem"},
            "ssl_ca_certs",
            "rediss://",
            id="ssl-with-sentinels-no-tls-url",
        ),
        pytest.param(
            {"url": "rediss://h/0", "ssl_keyfile": "c.key"},
            "ssl_keyfile",
            "needs ssl_certfile",
            id="key-without-cert",
        ),
        pytest.param({"url": "redis://127.0.0.1:abc/0"}, "url", "'abc'", id="port-not-a-number"),
        pytest.param({"url": "redis://127.0.0.1:70000/0"}, "url", "65535", id="port-too-big"),
        pytest.param({"url": "redis://127.0.0.1:0/0"}, "url", "65535", id="port-zero"),
        pytest.param({"url": "http://127.0.0.1/0"}, "url", "redis://", id="wrong-scheme"),
        pytest.param({"url": "127.0.0.1:6379"}, "url", "redis://", id="no-scheme"),
        pytest.param({"url": "redis://h/zero"}, "url", "'zero'", id="db-not-a-number"),
        pytest.param({"url": "redis://h/1?db=2"}, "url", "twice", id="db-twice"),
        pytest.param(
            {"url": "redis://h/0?socket_timeout=5"}, "url", "socket_timeout", id="query-option"
        ),
        pytest.param({"url": "redis:///0"}, "url", "no host", id="no-host"),
        pytest.param({"url": "unix://"}, "url", "socket's path", id="unix-without-path"),
        pytest.param({"url": ""}, "url", "non-empty", id="empty-url"),
        pytest.param({"url": 6379}, "url", "non-empty text", id="url-not-text"),
        pytest.param(
            {"url": "redis://h:7000/2", "cluster": True}, "url", "only db 0", id="cluster-db"
        ),
        pytest.param(
            {"url": "unix:///tmp/r.sock", "cluster": True}, "url", "TCP", id="cluster-unix"
        ),
        pytest.param({"cluster": "yes"}, "cluster", "true or false", id="cluster-not-bool"),
        pytest.param(
            {"url": "redis://primary:6379/0", "sentinels": SENTINELS, "service_name": "c"},
            "url",
            "without host and port",
            id="sentinel-url-with-host",
        ),
        pytest.param(
            {"url": "unix:///tmp/r.sock", "sentinels": SENTINELS, "service_name": "c"},
            "url",
            "not unix://",
            id="sentinel-unix-url",
        ),
        pytest.param(
            {"sentinels": [], "service_name": "c"}, "sentinels", "at least one", id="no-sentinels"
        ),
        pytest.param(
            {"sentinels": 26379, "service_name": "c"},
            "sentinels",
            "list",
            id="sentinels-not-a-list",
        ),
        pytest.param(
            {"sentinels": "h1:26379,h2", "service_name": "c"},
            "sentinels",
            "'h2'",
            id="bad-in-string",
        ),
        pytest.param(
            {"url": "redis://u:p@h/0", "password": "p"},
            "password",
            "give it once",
            id="password-twice",
        ),
        pytest.param(
            {"url": "redis://u:p@h/0", "username": "u"},
            "username",
            "give it once",
            id="username-twice",
        ),
        pytest.param({"sync_intervl": 1}, "sync_intervl", "'sync_interval'", id="unknown-key"),
        pytest.param({"sync_interval": 0}, "sync_interval", "greater than 0", id="interval-zero"),
        pytest.param({"sync_interval": "1s"}, "sync_interval", "number", id="interval-text"),
        pytest.param({"socket_timeout": True}, "socket_timeout", "number", id="timeout-bool"),
        pytest.param(
            {"socket_connect_timeout": -1}, "socket_connect_timeout", "greater", id="negative"
        ),
        pytest.param({"idle_ttl_seconds": 0}, "idle_ttl_seconds", "at least 1", id="ttl-zero"),
        pytest.param({"idle_ttl_seconds": 1.5}, "idle_ttl_seconds", "whole", id="ttl-fraction"),
        pytest.param({"key_prefix": ""}, "key_prefix", "non-empty", id="empty-prefix"),
        pytest.param(
            {"service_name": 5, "sentinels": SENTINELS},
            "service_name",
            "text",
            id="service-not-text",
        ),
    ],
)
def test_each_bad_option_is_one_problem_naming_its_key(
    options: dict[str, Any], key: str, words: str
) -> None:
    problem = only_problem(options)
    assert problem.key == key
    assert words in problem.message
    assert str(problem).startswith(f"{key}")


def test_a_bad_tls_url_is_not_also_blamed_on_the_ssl_options() -> None:
    problem = only_problem({"url": "rediss://h:abc/0", "ssl_ca_certs": "ca.pem"})
    assert problem.key == "url"


def test_a_bad_sentinel_entry_is_located_by_its_index() -> None:
    problem = only_problem({"sentinels": ["h1:26379", "h2:port"], "service_name": "c"})
    assert problem.path == ("sentinels", 1)
    assert str(problem).startswith("sentinels[1]: ")


def test_every_problem_is_reported_at_once() -> None:
    found = problems_by_key(
        {
            "cluster": True,
            "sentinels": ["nowhere"],
            "url": "redis://h:abc/0",
            "ssl_keyfile": "c.key",
            "sync_interval": -1,
            "colour": "blue",
        }
    )
    assert sorted(set(found.values())) == [
        "colour",
        "sentinels",
        "service_name",
        "ssl_keyfile",
        "sync_interval",
        "url",
    ]


def test_from_mapping_raises_every_problem_in_one_error() -> None:
    with pytest.raises(RedisOptionsError) as raised:
        RedisOptions.from_mapping({"sync_interval": 0, "key_prefix": ""})
    assert [problem.key for problem in raised.value.problems] == ["key_prefix", "sync_interval"]
    assert "sync_interval: expected a number of seconds" in str(raised.value)


def test_passwords_never_appear_in_problems() -> None:
    problems = option_problems(
        {"url": "redis://user:hunter2@h:abc/0", "password": 12345, "cluster": "x"}
    )
    assert len(problems) == 3
    assert not any("hunter2" in str(p) or "12345" in str(p) for p in problems)
    assert redact("rediss://user:hunter2@h:1/0") == "rediss://user:***@h:1/0"


def test_a_url_no_parser_can_read_is_a_problem_that_still_hides_the_password() -> None:
    (problem,) = option_problems({"url": "redis://app:hunter2@[::1/0"})
    assert problem.key == "url" and "not a valid URL" in problem.message
    assert "hunter2" not in str(problem)
    assert redact("redis://app:hunter2@[::1/0") == "redis://app:***@[::1/0"


def test_a_db_written_in_other_digits_than_ascii_is_a_problem() -> None:
    (problem,) = option_problems({"url": "redis://h:6379/\u0665"})
    assert problem.key == "url" and "is not a whole number" in problem.message


def test_validation_reads_no_file() -> None:
    assert option_problems({"url": "rediss://h/0", "ssl_ca_certs": "/nowhere/ca.pem"}) == []


# -- building clients --------------------------------------------------------------------


def test_a_single_server_round_trip(
    redis_server: RedisServer | ExternalRedis, key: str, closing: list[RedisTopology]
) -> None:
    topology = build(closing, {"url": redis_server.url})
    assert isinstance(topology, ServerTopology)
    assert topology.kind is Topology.SERVER
    round_trip(topology, key)
    assert topology.follow_primary() is False  # one server: nothing to follow
    topology.check()
    topology.client().delete(key)


def test_clients_fail_fast_without_retries() -> None:
    topology = connect({"url": f"redis://127.0.0.1:{free_port()}/0", "socket_timeout": 0.1})
    client = topology.client()
    assert isinstance(client, redis.Redis)
    retry = client.connection_pool.connection_kwargs["retry"]
    assert retry.get_retries() == 0
    with pytest.raises(redis.ConnectionError):
        client.ping()
    with pytest.raises(RedisCheckError, match=r"^Redis 127\.0\.0\.1:\d+ db 0: "):
        topology.check()
    topology.close()


def test_a_unix_socket_round_trip(
    unix_redis: UnixRedis, key: str, closing: list[RedisTopology]
) -> None:
    topology = build(closing, {"url": unix_redis.url})
    round_trip(topology, key)
    assert topology.describe() == f"Redis unix:{unix_redis.socket} db 0"


def test_tls_with_a_password(tls_redis: TlsRedis, key: str, closing: list[RedisTopology]) -> None:
    certificates = tls_redis.certificates
    topology = build(
        closing,
        {"url": tls_redis.url, "password": PASSWORD, "ssl_ca_certs": str(certificates.ca)},
    )
    round_trip(topology, key)
    assert topology.describe() == f"Redis 127.0.0.1:{tls_redis.port} db 0 (TLS)"
    assert PASSWORD not in topology.describe()


def test_tls_with_an_acl_user_in_the_url_and_a_client_certificate(
    tls_redis: TlsRedis, key: str, closing: list[RedisTopology]
) -> None:
    certificates = tls_redis.certificates
    topology = build(
        closing,
        {
            "url": f"rediss://{ACL_USER}:{ACL_PASSWORD}@localhost:{tls_redis.port}/0",
            "ssl_ca_certs": str(certificates.ca),
            "ssl_certfile": str(certificates.client_cert),
            "ssl_keyfile": str(certificates.client_key),
        },
    )
    round_trip(topology, key)
    client = topology.client()
    assert isinstance(client, redis.Redis)
    assert client.acl_whoami() in (ACL_USER, ACL_USER.encode())
    assert topology.describe().endswith(f"(TLS, user '{ACL_USER}')")
    assert ACL_PASSWORD not in topology.describe()


@pytest.mark.parametrize(
    ("credentials", "words"),
    [
        ({"password": "wrong"}, "authentication failed; check username and password"),
        ({"username": ACL_USER, "password": "wrong"}, "authentication failed"),
        ({}, "authentication failed"),
    ],
)
def test_tls_with_wrong_credentials_fails_with_a_clear_error(
    tls_redis: TlsRedis, credentials: dict[str, str], words: str, closing: list[RedisTopology]
) -> None:
    topology = build(
        closing,
        {"url": tls_redis.url, "ssl_ca_certs": str(tls_redis.certificates.ca), **credentials},
    )
    with pytest.raises(RedisCheckError) as raised:
        topology.check()
    assert str(raised.value).startswith(f"Redis 127.0.0.1:{tls_redis.port} db 0 (TLS")
    assert words in str(raised.value)
    with pytest.raises(UNAVAILABLE_ERRORS):
        topology.client().ping()


def test_tls_with_an_untrusted_server_certificate_fails_with_a_clear_error(
    tls_redis: TlsRedis, closing: list[RedisTopology]
) -> None:
    topology = build(
        closing,
        {
            "url": tls_redis.url,
            "password": PASSWORD,
            "ssl_ca_certs": str(tls_redis.certificates.other_ca),
        },
    )
    with pytest.raises(
        RedisCheckError, match="TLS certificate was not trusted; check ssl_ca_certs"
    ):
        topology.check()


def test_a_missing_ca_file_is_an_option_problem_when_connecting(
    tls_redis: TlsRedis, tmp_path: Path
) -> None:
    missing = tmp_path / "missing-ca.pem"
    with pytest.raises(RedisOptionsError) as raised:
        connect({"url": tls_redis.url, "password": PASSWORD, "ssl_ca_certs": str(missing)})
    [problem] = raised.value.problems
    assert problem.key == "ssl_ca_certs"
    assert str(missing) in problem.message
    assert "No such file" in problem.message


def test_a_certificate_without_its_key_is_an_option_problem(tls_redis: TlsRedis) -> None:
    certificates = tls_redis.certificates
    with pytest.raises(RedisOptionsError) as raised:
        connect(
            {
                "url": tls_redis.url,
                "ssl_ca_certs": str(certificates.ca),
                "ssl_certfile": str(certificates.client_cert),
            }
        )
    [problem] = raised.value.problems
    assert (problem.key, "no ssl_keyfile given" in problem.message) == ("ssl_certfile", True)


# -- Redis Cluster -----------------------------------------------------------------------


def test_cluster_runs_the_script_on_each_master(
    redis_cluster: LocalCluster, closing: list[RedisTopology]
) -> None:
    topology = build(closing, {"url": redis_cluster.url, "cluster": True})
    assert isinstance(topology, ClusterTopology)
    assert topology.kind is Topology.CLUSTER
    assert topology.describe() == f"Redis Cluster via {redis_cluster.url.removeprefix('redis://')}"
    for master in redis_cluster.masters:
        key = redis_cluster.key_on(master, f"cbtest-{uuid.uuid4().hex[:6]}")
        round_trip(topology, key)
        direct = master.client()
        assert direct.hget(key, "at") is not None  # the write landed on the key's master
        direct.delete(key)
        direct.close()
    topology.check()


def test_cluster_over_tls_with_a_password(
    make_redis_cluster: ClusterFactory, closing: list[RedisTopology]
) -> None:
    cluster = make_redis_cluster(tls=True)
    assert cluster.certificates is not None
    topology = build(
        closing, {"url": cluster.url, "cluster": True, "ssl_ca_certs": str(cluster.certificates.ca)}
    )
    assert topology.describe().endswith("(TLS)")
    assert PASSWORD not in topology.describe()
    for master in cluster.masters:
        round_trip(topology, cluster.key_on(master))
    client = topology.client()
    assert isinstance(client, RedisCluster)
    assert {node.port for node in client.get_primaries()} == {m.port for m in cluster.masters}


def test_a_cluster_that_is_down_at_start_up_is_an_outage_not_a_crash() -> None:
    topology = connect(
        {"url": f"redis://127.0.0.1:{free_port()}", "cluster": True, "socket_timeout": 0.1}
    )
    with pytest.raises(UNAVAILABLE_ERRORS):
        topology.client()
    with pytest.raises(RedisCheckError, match="no cluster node answered"):
        topology.check()
    topology.close()


@pytest.mark.e2e
def test_cluster_fresh_client_reaches_the_promoted_replica_at_once(
    make_redis_cluster: ClusterFactory, closing: list[RedisTopology]
) -> None:
    cluster = make_redis_cluster(replicas=1, node_timeout_ms=500)
    topology = build(closing, {"url": cluster.url, "cluster": True})
    master = cluster.masters[1]
    key = cluster.key_on(master)
    topology.client().set(key, "before")
    cluster.kill(master)
    wait_until(lambda: cluster.node_for_key(key) is not master, 20, "a replica promotion")
    cluster.wait_state("ok")
    with topology.fresh_client() as client:
        assert client.get(key) == b"before"
        client.set(key, "after")
    promoted = cluster.node_for_key(key)
    assert promoted in cluster.replicas
    assert promoted.client().get(key) == "after"


# -- Sentinel ----------------------------------------------------------------------------


def sentinel_options(setup: LocalSentinel, **extra: Any) -> dict[str, Any]:
    return {"sentinels": setup.sentinel_addresses, "service_name": setup.service_name, **extra}


def served_by(client: redis.Redis[Any]) -> int:
    """The port of the server a pooled connection of ``client`` reaches."""
    return int(client.info("server")["tcp_port"])


def test_sentinel_round_trip_on_the_primary(
    redis_sentinel: LocalSentinel, key: str, closing: list[RedisTopology]
) -> None:
    topology = build(closing, sentinel_options(redis_sentinel))
    assert isinstance(topology, SentinelTopology)
    round_trip(topology, key)
    assert served_by(topology.client()) == redis_sentinel.primary.port
    assert topology.follow_primary() is False
    assert topology.primary == redis_sentinel.primary.address
    topology.check()
    sentinels = ", ".join(redis_sentinel.sentinel_addresses)
    assert topology.describe() == f"Redis Sentinel service 'cbtest' via {sentinels} (db 0)"
    topology.client().delete(key)


def test_sentinel_over_tls_with_a_password(
    make_redis_sentinel: SentinelFactory, key: str, closing: list[RedisTopology]
) -> None:
    setup = make_redis_sentinel(tls=True, sentinels=1)
    assert setup.certificates is not None
    options = sentinel_options(
        setup, url=f"rediss://:{PASSWORD}@/0", ssl_ca_certs=str(setup.certificates.ca)
    )
    topology = build(closing, options)
    assert isinstance(topology, SentinelTopology)
    round_trip(topology, key)
    assert topology.follow_primary() is False
    assert topology.primary == setup.primary.address
    with topology.fresh_client() as client:
        assert client.exists(key)
    assert topology.describe().endswith("(db 0, TLS)")


def test_sentinel_without_any_reachable_sentinel_fails_with_a_clear_error(
    closing: list[RedisTopology],
) -> None:
    options = {"sentinels": [f"127.0.0.1:{free_port()}"], "service_name": "cbtest"}
    topology = build(closing, {**options, "socket_timeout": 0.1})
    with pytest.raises(UNAVAILABLE_ERRORS):
        topology.follow_primary()
    with pytest.raises(RedisCheckError, match="no sentinel named a primary"):
        topology.check()


@pytest.mark.e2e
def test_sentinel_follow_moves_writes_to_the_new_primary_after_a_failover(
    make_redis_sentinel: SentinelFactory,
    key: str,
    closing: list[RedisTopology],
    caplog: pytest.LogCaptureFixture,
) -> None:
    setup = make_redis_sentinel()
    topology = build(closing, sentinel_options(setup))
    assert isinstance(topology, SentinelTopology)
    client = topology.client()
    topology.follow_primary()
    old = setup.primary
    client.set(key, "before")

    new = setup.failover()
    # A pooled connection still reaches the old primary, which takes writes until
    # Sentinel demotes it: this is what following prevents.
    assert served_by(client) == old.port
    with caplog.at_level(logging.WARNING, logger="circuit_breaker"):
        assert topology.follow_primary() is True
    assert topology.primary == new.address
    assert f"primary moved from 127.0.0.1:{old.port} to 127.0.0.1:{new.port}" in caplog.text
    client.set(key, "after")
    assert served_by(client) == new.port
    assert new.client().get(key) == "after"
    assert topology.follow_primary() is False


@pytest.mark.e2e
def test_sentinel_fresh_client_reaches_the_new_primary_right_after_a_failover(
    make_redis_sentinel: SentinelFactory, key: str, closing: list[RedisTopology]
) -> None:
    setup = make_redis_sentinel()
    topology = build(closing, sentinel_options(setup))
    topology.client().ping()  # a pooled connection to the first primary
    new = setup.failover()
    with topology.fresh_client() as client:
        assert isinstance(client, redis.Redis)
        client.set(key, "manual")
        assert served_by(client) == new.port
    assert new.client().get(key) == "manual"
