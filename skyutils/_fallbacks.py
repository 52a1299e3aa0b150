"""Counts the calls the native backend handed to Python, per function."""

from collections import Counter

counts: Counter = Counter()


def record(name: str) -> None:
    """The native path of `name` could not decide this call; Python served it."""
    counts[name] += 1
