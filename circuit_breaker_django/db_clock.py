"""The database server's clock, the one clock every process of a fleet shares."""

from __future__ import annotations

# The server's time as epoch seconds (a float), by vendor.
CLOCK_SQL = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


def clock_sql(vendor: str) -> str:
    """The SQL expression of the server clock; ValueError for an unsupported database."""
    try:
        return CLOCK_SQL[vendor]
    except KeyError:
        raise ValueError(
            f"the django circuit-breaker store supports {' and '.join(sorted(CLOCK_SQL))}, "
            f"not {vendor!r}; use STORE 'redis://...' or 'memory'"
        ) from None


def seq_sql(vendor: str) -> str:
    """A record's first ``seq``: the clock in microseconds, so a re-created record never
    looks older than the one it replaces."""
    return f"CAST({clock_sql(vendor)} * 1000000 AS BIGINT)"
