"""Errors the CLI turns into one-line messages instead of tracebacks."""


class UsageError(Exception):
    """A problem with what the user typed or configured; printed as one line, exit code 2."""
