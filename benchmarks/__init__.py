"""Side-by-side benchmarks against the peer libraries, judged against the project's targets.

Run ``python -m benchmarks`` (or ``make bench``); ``--quick`` for a smoke run,
``--only SCENARIO`` for one scenario. Results go to the terminal and to
``benchmarks/results/latest.json``.
"""
