"""The Redis store's options: where its Redis is (one server, a Redis Cluster, or a
Sentinel-managed primary, each optionally over TLS with a password or an ACL user) and
how the store behaves.

Options (the YAML ``store:`` keys, the Django ``STORE`` dict, the store's keywords) are
checked without any I/O and without the redis package (:func:`option_problems`), so that
a bad combination is reported together with the rest of the configuration, each problem
naming its key. :func:`circuit_breaker.stores.redis.topology.connect` then builds the
clients.

Option rules, beyond each key's own type:

- ``url``: ``redis://`` (plain TCP), ``rediss://`` (TLS) or ``unix://`` (a socket path);
  it may carry ``username:password@`` and the db (``/2`` or ``?db=2``), nothing else in
  its query string. Default: ``redis://127.0.0.1:6379/0``.
- ``cluster: true``: ``url`` names any one node (db 0, TCP only); the client discovers
  the rest.
- ``sentinels: ["host:port", ...]`` (or one comma-separated string) with ``service_name``:
  the sentinels name the primary, so ``url`` is optional and may carry only the scheme
  (``rediss://`` for TLS), the credentials and the db -- no host, no port
  (``rediss://:secret@/0``). TLS settings apply to the sentinels too; the credentials
  are the data nodes' only (sentinels are asked without a password).
- ``username`` / ``password`` keys are the same credentials as in the URL: give each once.
- ``ssl_ca_certs`` / ``ssl_certfile`` / ``ssl_keyfile`` need TLS (a ``rediss://`` url);
  a key file needs a certificate file. Without ``ssl_ca_certs`` the system's CAs verify
  the server; the server's certificate must match its host name or IP address.
- Timings are numbers of seconds > 0 (the YAML loader turns durations into seconds
  first); ``socket_connect_timeout`` defaults to ``socket_timeout``.
"""

from __future__ import annotations

import math
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from circuit_breaker.errors import closest

DEFAULT_URL = "redis://127.0.0.1:6379/0"
OPTION_NAMES = (
    "url",
    "cluster",
    "sentinels",
    "service_name",
    "username",
    "password",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "key_prefix",
    "sync_interval",
    "socket_timeout",
    "socket_connect_timeout",
    "idle_ttl_seconds",
    "flush_interval",
)
SSL_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
DEFAULTS: dict[str, Any] = {
    "key_prefix": "circuit_breaker",
    "sync_interval": 1.0,
    "socket_timeout": 0.25,
    "idle_ttl_seconds": 7 * 86400,
    "flush_interval": 0.25,
}

_SCHEMES = ("redis", "rediss", "unix")
# "scheme://user:PASSWORD@" up to the last "@" before the path: the password goes.
_PASSWORD = re.compile(r"(://[^/?#@:]*:)[^/?#]*@")


class Topology(Enum):
    SERVER = "server"
    CLUSTER = "cluster"
    SENTINEL = "sentinel"


KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class OptionProblem:
    """One bad store option; ``path`` starts with the option's key (``("sentinels", 1)``)."""

    path: KeyPath
    message: str

    @property
    def key(self) -> str:
        return str(self.path[0])

    def __str__(self) -> str:
        where = self.key + "".join(f"[{step}]" for step in self.path[1:])
        return f"{where}: {self.message}"


class RedisOptionsError(ValueError):
    """Everything wrong with a set of store options, reported at once."""

    def __init__(self, problems: Sequence[OptionProblem]) -> None:
        self.problems = list(problems)
        super().__init__(
            "invalid Redis store options:\n" + "\n".join(f"  - {p}" for p in self.problems)
        )


@dataclass(frozen=True)
class RedisOptions:
    """Store options, valid: built by :meth:`from_mapping` (or :func:`option_problems`)."""

    topology: Topology = Topology.SERVER
    tls: bool = False
    host: str | None = "127.0.0.1"
    port: int | None = 6379
    unix_socket: str | None = None
    db: int = 0
    sentinels: tuple[tuple[str, int], ...] = ()
    service_name: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    key_prefix: str = DEFAULTS["key_prefix"]
    sync_interval: float = DEFAULTS["sync_interval"]
    socket_timeout: float = DEFAULTS["socket_timeout"]
    socket_connect_timeout: float = DEFAULTS["socket_timeout"]
    idle_ttl_seconds: int = DEFAULTS["idle_ttl_seconds"]
    flush_interval: float = DEFAULTS["flush_interval"]

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> RedisOptions:
        parsed, problems = _parse(options)
        if parsed is None:
            raise RedisOptionsError(problems)
        return parsed


def option_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """Every problem in ``options``, without connecting or reading any file."""
    return _parse(options)[1]


# -- validation --------------------------------------------------------------------------


class _Checker:
    """Reads the options key by key, collecting problems instead of stopping at the first."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = options
        self.problems: list[OptionProblem] = []

    def report(self, path: str | KeyPath, message: str) -> None:
        self.problems.append(OptionProblem((path,) if isinstance(path, str) else path, message))

    def text(self, key: str) -> str | None:
        value = self.options.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            shown = "" if key == "password" else f", got {value!r}"
            self.report(key, f"expected non-empty text{shown}")
            return None
        return value

    def flag(self, key: str) -> bool:
        value = self.options.get(key, False)
        if not isinstance(value, bool):
            self.report(key, f"expected true or false, got {value!r}")
            return False
        return value

    def seconds(self, key: str) -> float | None:
        value = self.options.get(key)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            self.report(key, f"expected a number of seconds greater than 0, got {value!r}")
            return None
        return float(value)

    def whole_number(self, key: str, minimum: int) -> int | None:
        value = self.options.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.report(key, f"expected a whole number of at least {minimum}, got {value!r}")
            return None
        return value


@dataclass
class _Url:
    """What a ``url`` option says; ``None`` fields were not given."""

    scheme: str
    host: str | None = None
    port: int | None = None
    path: str | None = None
    db: int | None = None
    username: str | None = None
    password: str | None = None


def redact(url: str) -> str:
    """``url`` with its password hidden, for messages and logs -- also a URL that
    cannot be parsed (which is then reported, password and all, as a problem)."""
    return _PASSWORD.sub(r"\1***@", url)


def _parse_url(check: _Checker, url: str) -> _Url | None:
    shown = repr(redact(url))
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        check.report("url", f"not a valid URL ({exc}): {shown}")
        return None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        check.report("url", f"expected a redis://, rediss:// or unix:// URL, got {shown}")
        return None
    parsed = _Url(scheme)
    if parts.username:
        parsed.username = unquote(parts.username)
    if parts.password is not None:
        parsed.password = unquote(parts.password)
    try:
        parsed.port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        check.report("url", f"the port {port_text!r} is not a number from 1 to 65535 in {shown}")
        return None
    if parsed.port == 0:
        check.report("url", f"the port must be from 1 to 65535 in {shown}")
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({name for name, _ in query} - {"db"})
    if unknown:
        check.report(
            "url",
            f"unsupported query option(s) {', '.join(unknown)} in {shown}: only db is "
            "read from the URL; give other settings as store options",
        )
        return None
    db_texts = [value for name, value in query if name == "db"]
    if scheme == "unix":
        if parts.hostname or parts.port is not None:
            check.report("url", f"a unix:// URL names a socket path, not a host: {shown}")
            return None
        if not parts.path or parts.path == "/":
            check.report("url", f"a unix:// URL needs the socket's path: {shown}")
            return None
        parsed.path = unquote(parts.path)
    else:
        parsed.host = parts.hostname or None
        db_path = parts.path.strip("/")
        if db_path:
            db_texts.insert(0, db_path)
    if len(db_texts) > 1:
        check.report("url", f"the db is given twice in {shown}")
        return None
    if db_texts:
        if not (db_texts[0].isascii() and db_texts[0].isdigit()):
            check.report("url", f"the db {db_texts[0]!r} is not a whole number in {shown}")
            return None
        parsed.db = int(db_texts[0])
    return parsed


def _parse_sentinels(check: _Checker) -> tuple[tuple[str, int], ...]:
    value = check.options.get("sentinels")
    if value is None:
        return ()
    entries: list[Any]
    if isinstance(value, str):
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    elif isinstance(value, list | tuple):
        entries = list(value)
    else:
        check.report("sentinels", f"expected a list of 'host:port' addresses, got {value!r}")
        return ()
    if not entries:
        check.report("sentinels", "expected at least one 'host:port' address")
        return ()
    addresses: list[tuple[str, int]] = []
    for index, entry in enumerate(entries):
        path: KeyPath = ("sentinels", index) if not isinstance(value, str) else ("sentinels",)
        address = _address(entry)
        if address is None:
            check.report(path, f"expected 'host:port' (port from 1 to 65535), got {entry!r}")
        else:
            addresses.append(address)
    return tuple(addresses) if len(addresses) == len(entries) else ()


def _address(entry: Any) -> tuple[str, int] | None:
    """``(host, port)`` from ``"host:port"`` or ``"[ipv6]:port"``."""
    if not isinstance(entry, str):
        return None
    host, _, port = entry.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host, int(port)


def _parse(options: Mapping[str, Any]) -> tuple[RedisOptions | None, list[OptionProblem]]:
    check = _Checker(options)
    for key in sorted(set(options) - set(OPTION_NAMES), key=str):
        hint = closest(str(key), OPTION_NAMES)
        suggestion = f"did you mean {hint!r}?" if hint else f"known: {', '.join(OPTION_NAMES)}"
        check.report(str(key), f"unknown Redis store option; {suggestion}")

    cluster = check.flag("cluster")
    sentinels = _parse_sentinels(check)
    service_name = check.text("service_name")
    username = check.text("username")
    password = check.text("password")
    ssl_files = {key: check.text(key) for key in SSL_OPTIONS}
    key_prefix = check.text("key_prefix")
    sync_interval = check.seconds("sync_interval")
    socket_timeout = check.seconds("socket_timeout")
    socket_connect_timeout = check.seconds("socket_connect_timeout")
    idle_ttl_seconds = check.whole_number("idle_ttl_seconds", 1)
    flush_interval = check.seconds("flush_interval")

    use_sentinels = options.get("sentinels") is not None
    url_text = check.text("url")
    if url_text is None and not use_sentinels:
        url_text = DEFAULT_URL
    url = _parse_url(check, url_text) if url_text is not None else None

    if cluster and use_sentinels:
        check.report(
            "sentinels", "cannot be combined with cluster: true (a Redis Cluster has no Sentinel)"
        )
    if use_sentinels and options.get("service_name") is None:
        check.report("service_name", "required with sentinels: the name they monitor")
    if not use_sentinels and options.get("service_name") is not None:
        check.report("service_name", "only used with sentinels")

    if url is not None:
        if use_sentinels:
            if url.scheme == "unix":
                check.report("url", "with sentinels, use redis:// or rediss://, not unix://")
            elif url.host is not None or url.port is not None:
                check.report(
                    "url",
                    "with sentinels the primary's address comes from them: give url without "
                    "host and port (e.g. 'rediss://:PASSWORD@/0'), or leave it out",
                )
        elif url.scheme != "unix" and url.host is None:
            check.report("url", f"no host in {redact(url_text or '')!r}")
        if cluster and url.scheme == "unix":
            check.report("url", "a Redis Cluster is reached over TCP: use redis:// or rediss://")
        if cluster and url.db:
            check.report("url", f"a Redis Cluster has only db 0, got db {url.db}")
        if username is not None and url.username is not None:
            check.report("username", "also given in url: give it once")
        if password is not None and url.password is not None:
            check.report("password", "also given in url: give it once")

    tls = url is not None and url.scheme == "rediss"
    url_read = url is not None or options.get("url") is None  # a bad url: reported already
    for key, value in ssl_files.items():
        if value is not None and url_read and not tls:
            check.report(key, "needs TLS: use a rediss:// url")
    if ssl_files["ssl_keyfile"] is not None and ssl_files["ssl_certfile"] is None:
        check.report("ssl_keyfile", "needs ssl_certfile (the certificate the key belongs to)")

    if check.problems:
        return None, check.problems
    assert url is not None or use_sentinels  # every other case reported a problem
    topology = (
        Topology.CLUSTER if cluster else Topology.SENTINEL if use_sentinels else Topology.SERVER
    )
    timeout = socket_timeout or DEFAULTS["socket_timeout"]
    return (
        RedisOptions(
            topology=topology,
            tls=tls,
            host=url.host if url is not None else None,
            port=(url.port or 6379) if url is not None and url.host is not None else None,
            unix_socket=url.path if url is not None else None,
            db=(url.db or 0) if url is not None else 0,
            sentinels=sentinels,
            service_name=service_name,
            username=username or (url.username if url is not None else None),
            password=password or (url.password if url is not None else None),
            ssl_ca_certs=ssl_files["ssl_ca_certs"],
            ssl_certfile=ssl_files["ssl_certfile"],
            ssl_keyfile=ssl_files["ssl_keyfile"],
            key_prefix=key_prefix or DEFAULTS["key_prefix"],
            sync_interval=sync_interval or DEFAULTS["sync_interval"],
            socket_timeout=timeout,
            socket_connect_timeout=socket_connect_timeout or timeout,
            idle_ttl_seconds=idle_ttl_seconds or DEFAULTS["idle_ttl_seconds"],
            flush_interval=flush_interval or DEFAULTS["flush_interval"],
        ),
        [],
    )


def tls_file_problems(options: RedisOptions) -> list[OptionProblem]:
    """The certificate files must load now: a bad path is a configuration error, which
    would otherwise surface as an endless "Redis unreachable" at every connect."""
    problems: list[OptionProblem] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if options.ssl_ca_certs is not None:
        try:
            context.load_verify_locations(cafile=options.ssl_ca_certs)
        except (OSError, ssl.SSLError) as exc:
            message = f"cannot load CA certificates from {options.ssl_ca_certs!r}: {exc}"
            problems.append(OptionProblem(("ssl_ca_certs",), message))
    if options.ssl_certfile is not None:
        keyfile = options.ssl_keyfile
        try:
            context.load_cert_chain(options.ssl_certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            key = "ssl_keyfile" if keyfile and not Path(keyfile).is_file() else "ssl_certfile"
            with_key = f" with the key {keyfile!r}" if keyfile else " (no ssl_keyfile given)"
            message = f"cannot load the certificate {options.ssl_certfile!r}{with_key}: {exc}"
            problems.append(OptionProblem((key,), message))
    return problems


def missing_driver() -> str | None:
    """Why the store cannot be built here when redis-py is not installed; else None."""
    try:
        import redis  # noqa: F401
    except ImportError:
        # Not "pip install circuit-breaker[redis]": that name on PyPI is another project.
        return "the redis package is not installed (install this package's `redis` extra, or redis)"
    return None
