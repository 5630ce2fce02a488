# ruff: noqa
# type: ignore
"""The original library's integration guide code, verbatim: our users' existing code.

Copied from the original library's integration guide (its "Configure for Your Use Case" and
"Common Patterns" sections).
Only the imports are gathered at the top; nothing inside the classes is changed.
"""

import requests
import httpx
import logging
from circuit_breaker import CircuitBreaker

logger = logging.getLogger(__name__)

# For external API calls
api_circuit_breaker = CircuitBreaker(
    failure_threshold=3,              # Failures before opening circuit
    base_interval_minutes=5,          # Base interval (5 minutes)
    fixed_interval_retries=3,         # First 3 retries at fixed intervals
    max_exponential_retries=5,        # Up to 5 exponential retries
    jitter_enabled=True              # Add randomization
)

# For database connections (shorter intervals)
db_circuit_breaker = CircuitBreaker(
    failure_threshold=5,
    base_interval_minutes=1,          # 1 minute base interval
    fixed_interval_retries=5,         # More fixed retries for DB
    max_exponential_retries=3,        # Fewer exponential retries
    jitter_enabled=True
)

# For critical services (longer intervals)
critical_service_breaker = CircuitBreaker(
    failure_threshold=2,              # Fail fast for critical services
    base_interval_minutes=10,         # 10 minute base interval
    fixed_interval_retries=2,         # Fewer attempts
    max_exponential_retries=4,        # Longer exponential backoff
    jitter_enabled=True
)


class ExternalAPIService:
    def __init__(self, api_url: str):
        self.api_url = api_url
        self.circuit_breaker = CircuitBreaker(
            failure_threshold=3,
            base_interval_minutes=5,
            fixed_interval_retries=3,
            max_exponential_retries=5
        )

    def _api_call_internal(self, data):
        # Your actual API call logic
        response = requests.post(self.api_url, json=data)
        response.raise_for_status()
        return response.json()

    def api_call(self, data):
        try:
            return self.circuit_breaker.call(self._api_call_internal, data)
        except Exception as e:
            logger.error(f"API call failed: {e}")
            # Return default response or handle gracefully
            return None


class DatabaseService:
    def __init__(self):
        self.circuit_breaker = CircuitBreaker(
            failure_threshold=5,
            base_interval_minutes=1,
            fixed_interval_retries=5,
            max_exponential_retries=3
        )

    def _query_internal(self, query, params):
        with self.get_connection() as conn:
            return conn.execute(query, params).fetchall()

    def query(self, query, params=None):
        try:
            return self.circuit_breaker.call(self._query_internal, query, params)
        except Exception as e:
            logger.error(f"Database query failed: {e}")
            raise DatabaseUnavailableException("Database temporarily unavailable")


class HTTPClientService:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.circuit_breaker = CircuitBreaker(
            failure_threshold=3,
            base_interval_minutes=2,      # Shorter for external services
            fixed_interval_retries=3,
            max_exponential_retries=4
        )
        self.timeout = httpx.Timeout(30.0)

    def _make_request_internal(self, endpoint: str, **kwargs) -> dict:
        with httpx.Client(timeout=self.timeout) as client:
            response = client.get(f"{self.base_url}/{endpoint}", **kwargs)
            response.raise_for_status()
            return response.json()

    def make_request(self, endpoint: str, **kwargs) -> dict | None:
        try:
            return self.circuit_breaker.call(self._make_request_internal, endpoint, **kwargs)
        except Exception as e:
            logger.error(f"HTTP request failed for {endpoint}: {e}")
            return None  # Graceful degradation


# The guide leaves these to the reader's service; a test module supplies them.
class DatabaseUnavailableException(Exception):
    pass
