"""Redis URLs, checked the way redis-py will read them, without connecting.

A malformed URL otherwise passes every check and fails on first use, when the store is
built. The redis package parses it, so the checks agree with the store about every URL.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_PASSWORD = re.compile(r"(://[^/?#@:]*:)[^/?#@]*@")
_DATABASE = re.compile(r"[0-9]+")


def redis_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a Redis URL, in words; None if nothing is."""
    try:
        from redis.connection import parse_url
    except ImportError:
        return "the redis package is not installed (install this package's `redis` extra, or redis)"
    try:
        options = parse_url(url)
    except ValueError as exc:
        return f"not a valid Redis URL: {exc}"
    if url.startswith("unix://"):
        if "path" not in options:
            return "a unix:// Redis URL needs the socket's path, like unix:///run/redis.sock"
        return None
    # redis-py ignores a path that is not a number, and reads any script's digits.
    database = unquote(urlsplit(url).path).replace("/", "")
    if database and not _DATABASE.fullmatch(database):
        return f"the path of a Redis URL is a database number, like /0 (got {database!r})"
    return None


def without_password(url: str) -> str:
    """``url`` fit for messages and logs: ``redis://user:***@host``."""
    return _PASSWORD.sub(r"\1***@", url)
