"""The ``store`` section for every Redis topology: what it builds, and located problems."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from circuit_breaker.config import load_config
from circuit_breaker.errors import ConfigError
from tests.config.yaml_files import WriteYaml


def options(
    write_yaml: WriteYaml, text: str, environ: dict[str, str] | None = None
) -> dict[str, Any]:
    config = load_config(write_yaml("breakers.yaml", text), environ=environ or {})
    assert config.store is not None and config.store.backend == "redis"
    return config.store.options


def problems(write_yaml: WriteYaml, text: str, environ: dict[str, str] | None = None) -> list[str]:
    """``file:line: path: message`` of each problem, as they are reported."""
    with pytest.raises(ConfigError) as caught:
        load_config(write_yaml("breakers.yaml", text), environ=environ or {})
    return [f"{p.file}:{p.line}: {p.path}: {p.message}" for p in caught.value.problems]


def test_a_cluster_is_any_one_node_and_cluster_true(write_yaml: WriteYaml) -> None:
    found = options(
        write_yaml,
        """\
        store:
          backend: redis
          url: redis://10.0.0.5:7000/0     # any one node of the cluster
          cluster: true
        """,
    )
    assert found == {"url": "redis://10.0.0.5:7000/0", "cluster": True}


def test_sentinels_name_the_primary_of_a_service(write_yaml: WriteYaml) -> None:
    found = options(
        write_yaml,
        """\
        store:
          backend: redis
          sentinels: ["sentinel-a:26379", "sentinel-b:26379"]
          service_name: mymaster
        """,
    )
    assert found == {
        "sentinels": ["sentinel-a:26379", "sentinel-b:26379"],
        "service_name": "mymaster",
    }


def test_tls_files_and_credentials_come_from_the_environment(write_yaml: WriteYaml) -> None:
    found = options(
        write_yaml,
        """\
        store:
          backend: redis
          url: rediss://${REDIS_HOST}:6380/0
          username: ${REDIS_USER}
          password: ${REDIS_PASSWORD}
          ssl_ca_certs: /etc/redis/ca.pem
          ssl_certfile: /etc/redis/client.pem
          ssl_keyfile: /etc/redis/client.key
          cluster: ${REDIS_CLUSTER:-false}
        """,
        {"REDIS_HOST": "cache.internal", "REDIS_USER": "breakers", "REDIS_PASSWORD": "s3cret"},
    )
    assert found == {
        "url": "rediss://cache.internal:6380/0",
        "username": "breakers",
        "password": "s3cret",
        "ssl_ca_certs": "/etc/redis/ca.pem",
        "ssl_certfile": "/etc/redis/client.pem",
        "ssl_keyfile": "/etc/redis/client.key",
        "cluster": False,
    }


def test_credentials_may_be_in_the_url_of_a_sentinel_service(write_yaml: WriteYaml) -> None:
    found = options(
        write_yaml,
        """\
        store:
          backend: redis
          url: rediss://:${REDIS_PASSWORD}@/0
          sentinels: sentinel-a:26379, sentinel-b:26379
          service_name: mymaster
        """,
        {"REDIS_PASSWORD": "s3cret"},
    )
    assert found["url"] == "rediss://:s3cret@/0"


def test_cluster_with_sentinels_is_a_problem_located_at_the_sentinels(
    write_yaml: WriteYaml,
) -> None:
    found = problems(
        write_yaml,
        """\
        store:
          backend: redis
          url: redis://10.0.0.5:7000/0
          cluster: true
          sentinels: ["sentinel-a:26379"]
          service_name: mymaster
        """,
    )
    path = found[0].split(":")[0]
    assert [problem.removeprefix(path) for problem in found] == [
        ":3: store.url: with sentinels the primary's address comes from them: give url without "
        "host and port (e.g. 'rediss://:PASSWORD@/0'), or leave it out",
        ":5: store.sentinels: cannot be combined with cluster: true (a Redis Cluster has no "
        "Sentinel)",
    ]


def test_every_bad_combination_is_reported_at_its_key_in_one_run(write_yaml: WriteYaml) -> None:
    found = problems(
        write_yaml,
        """\
        store:
          backend: redis
          sentinels:
            - sentinel-a:26379
            - sentinel-b
          url: redis://user:hunter2@/0
          username: other
          ssl_keyfile: /etc/redis/client.key
        """,
    )
    assert [problem.split(":", 1)[1] for problem in found] == [
        "2: store.service_name: required with sentinels: the name they monitor",
        "5: store.sentinels[1]: expected 'host:port' (port from 1 to 65535), got 'sentinel-b'",
        "7: store.username: also given in url: give it once",
        "8: store.ssl_keyfile: needs TLS: use a rediss:// url",
        "8: store.ssl_keyfile: needs ssl_certfile (the certificate the key belongs to)",
    ]
    assert not any("hunter2" in problem for problem in found)


def test_a_password_that_is_not_text_is_never_shown(write_yaml: WriteYaml) -> None:
    found = problems(write_yaml, "store: {backend: redis, password: 918273}\n")
    assert len(found) == 1 and found[0].endswith("store.password: expected non-empty text")


def test_without_the_redis_package_the_redis_store_is_a_problem_of_the_backend(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis raises ImportError
    found = problems(write_yaml, "store:\n  backend: redis\n  cluster: true\n")
    assert len(found) == 1
    assert found[0].endswith(
        ":2: store.backend: the redis package is not installed "
        "(install this package's `redis` extra, or redis)"
    )
