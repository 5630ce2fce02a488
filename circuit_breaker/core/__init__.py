"""The pure core: states, records, configuration, schedule, state machine and status.

Nothing in this package performs I/O, reads a clock or imports another part of the
library: stores, breakers and the configuration loader build on it, never the reverse.
"""
