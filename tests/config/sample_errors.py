"""Classes that test configurations name in ``ignore_exceptions``."""


class CardDeclined(Exception):
    """A business error: the dependency answered, so it must not trip a breaker."""


class Gateway:
    class Busy(Exception):
        """A nested exception class, reached through its owner."""


class NotAnError:
    """A class that is not an exception."""
