"""The errors a user of `apiary enrich` can cause; each message is the line they read."""

from __future__ import annotations

from runner_core.errors import RunnerError


class EnrichError(RunnerError):
    """A scan or verify request cannot be carried out (bad target, enriched entry, ...)."""
