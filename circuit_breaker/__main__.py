"""``python -m circuit_breaker``: see :mod:`circuit_breaker.cli`."""

from circuit_breaker.cli import main

raise SystemExit(main())
