"""Integrations with other libraries, each behind its own extra: HTTP clients (``httpx``,
``requests``), retries (``tenacity``) and metrics (``opentelemetry``).

Importing this package imports none of them; each module raises an ImportError naming
its extra when the library it integrates is missing.
"""
