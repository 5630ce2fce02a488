"""Real Redis topologies for tests: a Redis Cluster, a Sentinel-managed primary, a TLS server.

Every node is a plain ``redis-server`` process this session starts on free local ports,
each in a temp dir with persistence off, killed (SIGKILL) at teardown. Without
``redis-server`` the tests skip, except under CI=true where they fail
(:func:`tests.services.skip_or_fail`). Waiting is always polling against a deadline.

Fixtures (exposed to tests/stores through its conftest):

- ``redis_cluster``: a session-wide 3-master cluster; ``make_redis_cluster``: a cluster of
  the test's own (replicas, ``cluster-require-full-coverage``, TLS) that it may break.
- ``redis_sentinel``: a session-wide primary + replica + 3 sentinels;
  ``make_redis_sentinel``: one of the test's own, for failovers.
- ``tls_redis``: a session-wide TLS-only server with a password and an ACL user, its CA,
  server and client certificates made when the session starts.
- ``unix_redis``: a session-wide server listening on a unix socket only.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from tests.services import skip_or_fail

T = TypeVar("T")

HOST = "127.0.0.1"
SERVICE_NAME = "cbtest"
PASSWORD = "default-secret"
ACL_USER = "breakers"
ACL_PASSWORD = "breakers-secret"

# Short failure detection so topology changes are quick to test; long enough that a
# busy 2-core machine does not see false node failures.
CLUSTER_NODE_TIMEOUT_MS = 1000
SENTINEL_DOWN_AFTER_MS = 1000
SENTINEL_FAILOVER_TIMEOUT_MS = 5000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``condition`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except (redis.RedisError, OSError):
            result = None
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:g}s waiting for {what}")
        time.sleep(0.01)  # real wait: a server process changes state


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("no redis-server binary on PATH: apt-get install -y redis-server")
    return binary


class RedisProcess:
    """One ``redis-server`` (or sentinel) this session owns, configured by a file.

    ``client_options`` are what a client needs besides the address (TLS, a password).
    """

    def __init__(
        self,
        binary: str,
        directory: Path,
        config: list[str],
        *,
        port: int | None = None,
        sentinel: bool = False,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self.binary = binary
        self.directory = directory
        self.port = port if port is not None else free_port()
        self.sentinel = sentinel
        self.client_options = client_options or {}
        self.config_file = directory / ("sentinel.conf" if sentinel else "redis.conf")
        self.log_file = directory / "redis.log"
        base = [
            f"bind {HOST}",
            f"dir {directory}",
            f"logfile {self.log_file}",
            "daemonize no",
            "loglevel notice",
        ]
        if not sentinel:
            # No persistence; a replica syncs at once (diskless sync waits 5 s by default).
            base += ['save ""', "appendonly no", "repl-diskless-sync-delay 0"]
        if not any(line.startswith(("port ", "tls-port ")) for line in config):
            base.append(f"port {self.port}")
        self.config_file.write_text("\n".join([*base, *config]) + "\n")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def launch(self) -> None:
        """Start the process without waiting for it (start many, then wait for all)."""
        command = [self.binary, str(self.config_file)]
        if self.sentinel:
            command.append("--sentinel")
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def wait_ready(self, timeout: float = 10.0) -> None:
        client = self.client(socket_timeout=0.5, socket_connect_timeout=0.5)
        try:

            def answers() -> bool:
                if not self.alive:
                    raise RuntimeError(f"redis-server exited; its log:\n{self.log()}")
                return bool(client.ping())

            wait_until(answers, timeout, f"redis-server on port {self.port}")
        finally:
            client.close()

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def kill(self) -> None:
        """SIGKILL: an outage, not a clean shutdown."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=5)
            self._process = None

    def log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else "(no log)"

    def client(self, **options: Any) -> redis.Redis[Any]:
        """A client of this very process (not following any topology change)."""
        merged: dict[str, Any] = {"decode_responses": True, **self.client_options, **options}
        return redis.Redis(HOST, self.port, **merged)

    def query(self, *command: str) -> Any:
        """One command on a short-lived connection (for polling a node's view)."""
        client = self.client(socket_timeout=2, socket_connect_timeout=2)
        try:
            return client.execute_command(*command)
        finally:
            client.close()

    def info(self, section: str) -> dict[str, Any]:
        client = self.client(socket_timeout=2, socket_connect_timeout=2)
        try:
            return dict(client.info(section))
        finally:
            client.close()

    def __repr__(self) -> str:
        return f"<redis-server :{self.port}{' sentinel' if self.sentinel else ''}>"


def start_all(processes: list[RedisProcess]) -> None:
    """Launch every process, then wait for each: start-up costs one process, not N."""
    for process in processes:
        process.launch()
    try:
        for process in processes:
            process.wait_ready()
    except BaseException:
        for process in processes:
            process.kill()
        raise


# -- Redis Cluster -----------------------------------------------------------------------


class LocalCluster:
    """A Redis Cluster of ``masters`` (slots split evenly) and ``replicas`` per master.

    With ``tls``, every node (client port, cluster bus, replication) speaks TLS only and
    asks for ``PASSWORD``; ``certificates`` are then the ones to trust.
    """

    def __init__(
        self,
        binary: str,
        directory: Path,
        *,
        masters: int = 3,
        replicas: int = 0,
        require_full_coverage: bool = True,
        node_timeout_ms: int = CLUSTER_NODE_TIMEOUT_MS,
        tls: bool = False,
    ) -> None:
        self.certificates = make_certificates(directory) if tls else None
        self.nodes: list[RedisProcess] = []
        for index in range(masters * (1 + replicas)):
            node_dir = directory / f"node{index}"
            node_dir.mkdir()
            port = free_port()
            config = [
                "cluster-enabled yes",
                "cluster-config-file nodes.conf",
                f"cluster-node-timeout {node_timeout_ms}",
                f"cluster-port {free_port()}",
                f"cluster-require-full-coverage {'yes' if require_full_coverage else 'no'}",
            ]
            client_options: dict[str, Any] = {}
            if self.certificates is not None:
                config += [
                    *tls_server_config(self.certificates, port),
                    "tls-cluster yes",
                    "tls-replication yes",
                    f"masterauth {PASSWORD}",
                ]
                client_options = tls_client_options(self.certificates)
            self.nodes.append(
                RedisProcess(binary, node_dir, config, port=port, client_options=client_options)
            )
        self.masters = self.nodes[:masters]
        self.replicas = self.nodes[masters:]
        self.slot_ranges: dict[int, tuple[int, int]] = {}
        step = REDIS_CLUSTER_HASH_SLOTS // masters
        for index, node in enumerate(self.masters):
            last = REDIS_CLUSTER_HASH_SLOTS - 1 if index == masters - 1 else (index + 1) * step - 1
            self.slot_ranges[node.port] = (index * step, last)
        self.node_ids: dict[int, str] = {}

    @property
    def url(self) -> str:
        """Any one node: a cluster client discovers the rest."""
        if self.certificates is not None:
            return f"rediss://:{PASSWORD}@{HOST}:{self.masters[0].port}"
        return f"redis://{HOST}:{self.masters[0].port}"

    @property
    def live_nodes(self) -> list[RedisProcess]:
        return [node for node in self.nodes if node.alive]

    def create(self) -> None:
        """Start the nodes, assign slots, introduce them to each other; wait for ``ok``."""
        start_all(self.nodes)
        try:
            self._form()
        except BaseException:
            self.stop()
            raise

    def _form(self) -> None:
        for epoch, node in enumerate(self.nodes, start=1):
            self.node_ids[node.port] = node.query("CLUSTER", "MYID")
            # Distinct epochs from the start, as redis-cli does: no collision to resolve.
            node.query("CLUSTER", "SET-CONFIG-EPOCH", str(epoch))
        for node in self.masters:
            first, last = self.slot_ranges[node.port]
            node.query("CLUSTER", "ADDSLOTSRANGE", str(first), str(last))
        first_node = self.nodes[0]
        for node in self.nodes[1:]:
            bus_port = self._bus_port(node)
            first_node.query("CLUSTER", "MEET", HOST, str(node.port), str(bus_port))
        wait_until(self._all_know_each_other, 15, "cluster nodes to meet")
        for index, replica in enumerate(self.replicas):
            master = self.masters[index % len(self.masters)]
            replica.query("CLUSTER", "REPLICATE", self.node_ids[master.port])
        self.wait_state("ok")
        if self.replicas:
            wait_until(self._replicas_in_sync, 15, "cluster replicas to sync")

    @staticmethod
    def _bus_port(node: RedisProcess) -> int:
        for line in node.config_file.read_text().splitlines():
            if line.startswith("cluster-port "):
                return int(line.split()[1])
        raise AssertionError("every cluster node has a cluster-port")

    def _all_know_each_other(self) -> bool:
        for node in self.nodes:
            lines = node.query("CLUSTER", "NODES").strip().splitlines()
            if len(lines) != len(self.nodes) or any("handshake" in line for line in lines):
                return False
        return True

    def _replicas_in_sync(self) -> bool:
        return all(
            replica.info("replication").get("master_link_status") == "up"
            for replica in self.replicas
        )

    def wait_state(self, state: str, timeout: float = 15.0) -> None:
        """Wait until every live node reports ``cluster_state:<state>``."""

        def reached() -> bool:
            return all(
                f"cluster_state:{state}" in node.query("CLUSTER", "INFO")
                for node in self.live_nodes
            )

        wait_until(reached, timeout, f"cluster_state:{state} on every live node")

    def kill(self, node: RedisProcess) -> None:
        """The cluster notices after the node timeout: until then every live node still
        says ``ok``; wait for a failover with :meth:`node_for_key`."""
        node.kill()

    def node_for_slot(self, slot: int) -> RedisProcess:
        """The node serving ``slot`` now, as a live node sees it (failovers included)."""
        for observer in self.live_nodes:
            for first, last, (_host, port, *_rest), *_replicas in observer.query(
                "CLUSTER", "SLOTS"
            ):
                if first <= slot <= last:
                    return next(node for node in self.nodes if node.port == port)
        raise LookupError(f"no node serves slot {slot}")

    def node_for_key(self, key: str) -> RedisProcess:
        return self.node_for_slot(key_slot(key.encode()))

    def key_on(self, node: RedisProcess, prefix: str = "key") -> str:
        """A key (``prefix:{tag}``, a hash tag as breaker keys have) in ``node``'s slots."""
        first, last = self.slot_ranges[node.port]
        for number in range(100_000):
            key = f"{prefix}:{{tag{number}}}"
            if first <= key_slot(key.encode()) <= last:
                return key
        raise LookupError(f"no key found in slots {first}-{last}")

    def client(self, **options: Any) -> RedisCluster[Any]:
        merged = {"decode_responses": True, **self.masters[0].client_options, **options}
        return RedisCluster(HOST, self.masters[0].port, **merged)

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


# -- Sentinel ----------------------------------------------------------------------------


class LocalSentinel:
    """A primary, one replica and ``sentinels`` sentinels watching them as ``cbtest``.

    With ``tls``, servers and sentinels speak TLS only (replication too) and the servers
    ask for ``PASSWORD``; the sentinels ask for none.
    """

    def __init__(
        self, binary: str, directory: Path, *, sentinels: int = 3, tls: bool = False
    ) -> None:
        self.binary = binary
        self.directory = directory
        self.service_name = SERVICE_NAME
        self.certificates = make_certificates(directory) if tls else None
        ports = [free_port(), free_port()]
        primary_address = f"{HOST} {ports[0]}"
        self.servers: list[RedisProcess] = []
        for index, port in enumerate(ports):
            server_dir = directory / f"server{index}"
            server_dir.mkdir()
            config = [f"replicaof {primary_address}"] if index else []
            client_options: dict[str, Any] = {}
            if self.certificates is not None:
                config += [
                    *tls_server_config(self.certificates, port),
                    "tls-replication yes",
                    f"masterauth {PASSWORD}",
                ]
                client_options = tls_client_options(self.certificates)
            self.servers.append(
                RedisProcess(binary, server_dir, config, port=port, client_options=client_options)
            )
        quorum = sentinels // 2 + 1
        self.sentinels: list[RedisProcess] = []
        for index in range(sentinels):
            sentinel_dir = directory / f"sentinel{index}"
            sentinel_dir.mkdir()
            port = free_port()
            config = [
                f"sentinel monitor {SERVICE_NAME} {primary_address} {quorum}",
                f"sentinel down-after-milliseconds {SERVICE_NAME} {SENTINEL_DOWN_AFTER_MS}",
                f"sentinel failover-timeout {SERVICE_NAME} {SENTINEL_FAILOVER_TIMEOUT_MS}",
            ]
            client_options = {}
            if self.certificates is not None:
                config += [
                    *tls_server_config(self.certificates, port, password=None),
                    "tls-replication yes",  # how a sentinel reaches the servers
                    f"sentinel auth-pass {SERVICE_NAME} {PASSWORD}",
                ]
                client_options = {"ssl": True, "ssl_ca_certs": str(self.certificates.ca)}
            self.sentinels.append(
                RedisProcess(
                    binary,
                    sentinel_dir,
                    config,
                    port=port,
                    sentinel=True,
                    client_options=client_options,
                )
            )

    @property
    def sentinel_addresses(self) -> list[str]:
        """The ``sentinels`` store option: ``["host:port", ...]``."""
        return [f"{HOST}:{sentinel.port}" for sentinel in self.sentinels]

    def create(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        # The primary first: a replica that finds no primary retries only a second later.
        start_all(self.servers[:1])
        start_all(self.servers[1:])
        wait_until(self._replica_online, 15, "the replica to sync with the primary")
        # Sentinels started after the replica is online see it in their first INFO of
        # the primary, instead of up to 10 s later.
        start_all(self.sentinels)
        wait_until(self._sentinels_know_replica, 15, "sentinels to check the replica")

    def _replica_online(self) -> bool:
        replica = self.servers[0].info("replication").get("slave0", {})
        return isinstance(replica, dict) and replica.get("state") == "online"

    def _sentinels_know_replica(self) -> bool:
        """Every sentinel has a fresh INFO from a linked replica: SENTINEL FAILOVER works."""
        for sentinel in self.sentinels:
            replicas = sentinel.query("SENTINEL", "REPLICAS", self.service_name)
            fresh = [
                fields
                for fields in (_pairs(entry) for entry in replicas)
                if fields.get("master-link-status") == "ok"
                and int(fields.get("info-refresh", "999999")) < 5000
                and "s_down" not in fields.get("flags", "")
            ]
            if not fresh:
                return False
        return True

    def primary_address(self, sentinel: RedisProcess | None = None) -> tuple[str, int]:
        host, port = (sentinel or self.sentinels[0]).query(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service_name
        )
        return (host, int(port))

    def server_at(self, address: tuple[str, int]) -> RedisProcess:
        return next(server for server in self.servers if server.address == address)

    @property
    def primary(self) -> RedisProcess:
        """The primary as the sentinels see it now."""
        return self.server_at(self.primary_address())

    def failover(self, timeout: float = 20.0) -> RedisProcess:
        """``SENTINEL FAILOVER``; return the new primary once it is promoted.

        Promoted means: every sentinel names it, and it answers ROLE as a master. The old
        primary is not demoted yet (Sentinel does that some seconds later): it still
        takes writes from clients that did not follow.
        """
        old = self.primary_address()
        self.sentinels[0].query("SENTINEL", "FAILOVER", self.service_name)

        def promoted() -> tuple[str, int] | None:
            addresses = {self.primary_address(sentinel) for sentinel in self.sentinels}
            if len(addresses) != 1 or old in addresses:
                return None
            (new,) = addresses
            if self.server_at(new).query("ROLE")[0] != "master":
                return None
            return new

        return self.server_at(wait_until(promoted, timeout, "Sentinel to promote the replica"))

    def stop(self) -> None:
        for process in [*self.sentinels, *self.servers]:
            process.kill()


def _pairs(flat: Any) -> dict[str, str]:
    """SENTINEL replies: a flat [field, value, ...] list or, decoded, a dict."""
    if isinstance(flat, dict):
        return {str(key): str(value) for key, value in flat.items()}
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}


# -- TLS ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    """PEM files made at test time: a CA, a server and a client certificate signed by it,
    and an unrelated CA that must not be trusted."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def make_certificates(directory: Path) -> Certificates:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        skip_or_fail("the cryptography package is missing: pip install -e '.[dev]'")

    now = datetime.datetime.now(datetime.UTC)

    def write_key(name: str, key: ec.EllipticCurvePrivateKey) -> Path:
        path = directory / name
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def write_cert(name: str, cert: x509.Certificate) -> Path:
        path = directory / name
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def certificate(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
        extensions: list[tuple[x509.ExtensionType, bool]],
    ) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        issuer_name, signing_key = issuer if issuer is not None else (name, key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signing_key, hashes.SHA256())

    def authority(subject: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        constraints = x509.BasicConstraints(ca=True, path_length=None)
        return certificate(subject, key, None, [(constraints, True), (usage, True)]), key

    def leaf(
        subject: str, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], *purposes: Any
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        names = x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
        )
        extensions: list[tuple[x509.ExtensionType, bool]] = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.ExtendedKeyUsage(list(purposes)), False),
            (names, False),
        ]
        return certificate(subject, key, (ca[0].subject, ca[1]), extensions), key

    ca = authority("circuit-breaker test CA")
    # A server is also a TLS client: of its primary (replication) and of its cluster peers.
    server = leaf(
        "redis-server", ca, ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    )
    client = leaf("breakers", ca, ExtendedKeyUsageOID.CLIENT_AUTH)
    other = authority("an untrusted CA")
    return Certificates(
        ca=write_cert("ca.pem", ca[0]),
        server_cert=write_cert("server.pem", server[0]),
        server_key=write_key("server.key", server[1]),
        client_cert=write_cert("client.pem", client[0]),
        client_key=write_key("client.key", client[1]),
        other_ca=write_cert("other-ca.pem", other[0]),
    )


def tls_server_config(
    certificates: Certificates, port: int, *, password: str | None = PASSWORD
) -> list[str]:
    """TLS only on ``port``, asking for ``password`` (None: none).

    Client certificates are optional (``tls-auth-clients optional``): a client may use
    TLS with only a password, or present a certificate, which is then verified.
    """
    config = [
        "port 0",
        f"tls-port {port}",
        f"tls-cert-file {certificates.server_cert}",
        f"tls-key-file {certificates.server_key}",
        f"tls-ca-cert-file {certificates.ca}",
        "tls-auth-clients optional",
    ]
    return [*config, f"requirepass {password}"] if password is not None else config


def tls_client_options(certificates: Certificates) -> dict[str, Any]:
    return {"ssl": True, "ssl_ca_certs": str(certificates.ca), "password": PASSWORD}


class TlsRedis:
    """A TLS-only server (no plain port) asking for a password; an ACL user besides."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.certificates = make_certificates(directory)
        port = free_port()
        config = [
            *tls_server_config(self.certificates, port),
            f"user {ACL_USER} on >{ACL_PASSWORD} ~* &* +@all",
        ]
        self.server = RedisProcess(
            binary,
            directory,
            config,
            port=port,
            client_options=tls_client_options(self.certificates),
        )
        self.port = port
        self.url = f"rediss://{HOST}:{port}/0"

    def start(self) -> None:
        self.server.launch()
        try:
            self.server.wait_ready()
        except (RuntimeError, TimeoutError) as exc:
            self.server.kill()
            if "tls" in str(exc).lower():
                skip_or_fail(f"this redis-server cannot serve TLS: {exc}")
            raise

    def stop(self) -> None:
        self.server.kill()


class UnixRedis:
    """A server listening on a unix socket only."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.socket = directory / "redis.sock"
        self.server = RedisProcess(
            binary,
            directory,
            ["port 0", f"unixsocket {self.socket}", "unixsocketperm 700"],
        )
        self.url = f"unix://{self.socket}?db=0"

    def start(self) -> None:
        self.server.launch()

        def answers() -> bool:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=0.5)
            try:
                return bool(client.ping())
            finally:
                client.close()

        wait_until(answers, 10, f"redis-server on {self.socket}")

    def stop(self) -> None:
        self.server.kill()


# -- fixtures ----------------------------------------------------------------------------


ClusterFactory = Callable[..., LocalCluster]
SentinelFactory = Callable[..., LocalSentinel]


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A 3-master cluster shared by the session: do not kill its nodes (use
    ``make_redis_cluster``)."""
    cluster = LocalCluster(redis_binary(), tmp_path_factory.mktemp("cluster"))
    cluster.create()
    yield cluster
    cluster.stop()


@pytest.fixture
def make_redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterFactory]:
    """Build clusters of this test's own, killed when it ends."""
    clusters: list[LocalCluster] = []

    def make(**options: Any) -> LocalCluster:
        cluster = LocalCluster(redis_binary(), tmp_path_factory.mktemp("cluster"), **options)
        clusters.append(cluster)
        cluster.create()
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSentinel]:
    """A Sentinel set-up shared by the session: no failovers (use ``make_redis_sentinel``)."""
    topology = LocalSentinel(redis_binary(), tmp_path_factory.mktemp("sentinel"))
    topology.create()
    yield topology
    topology.stop()


@pytest.fixture
def make_redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelFactory]:
    """Build Sentinel set-ups of this test's own (a failover leaves two primaries for a
    while, until Sentinel demotes the old one)."""
    topologies: list[LocalSentinel] = []

    def make(**options: Any) -> LocalSentinel:
        topology = LocalSentinel(redis_binary(), tmp_path_factory.mktemp("sentinel"), **options)
        topologies.append(topology)
        topology.create()
        return topology

    yield make
    for topology in topologies:
        topology.stop()


@pytest.fixture(scope="session")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    server = TlsRedis(redis_binary(), tmp_path_factory.mktemp("tls"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def unix_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnixRedis]:
    server = UnixRedis(redis_binary(), tmp_path_factory.mktemp("unix"))
    server.start()
    yield server
    server.stop()
