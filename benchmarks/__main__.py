"""``python -m benchmarks``: run every scenario and print the table."""

from benchmarks.cli import main

raise SystemExit(main())
