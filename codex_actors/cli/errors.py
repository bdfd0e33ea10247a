"""Errors the CLI turns into one-line messages instead of tracebacks.

Exit codes follow spec agent-core 6.3: a problem found while starting (config, API key, stdin, `--output-schema`,
`--image`, the session to resume) exits 1; arguments that cannot be parsed at all exit 2, as clap's (and
argparse's) usage errors do.
"""


class UsageError(Exception):
    """Arguments that do not fit together or cannot be parsed; printed as one line, exit code 2."""

    exit_code = 2


class StartupError(UsageError):
    """A problem found while starting the run (bad config, missing API key, no prompt, unreadable file);
    printed as one line, exit code 1."""

    exit_code = 1
