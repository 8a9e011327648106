"""Errors that ``bench`` reports as one paragraph, without a traceback."""

import difflib


class BenchError(Exception):
    """A problem the user can fix: printed as one paragraph, exit code 2 by default."""

    exit_code = 2


class PluginError(BenchError):
    """A plugin misbehaved (bad registration, factory rejected its options...)."""


def did_you_mean(name: str, choices) -> str:
    """`` Did you mean 'x'?`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
