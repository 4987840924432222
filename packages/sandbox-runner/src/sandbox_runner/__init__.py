"""Run one untrusted command isolated and bounded: timeouts, whole-tree kill, limits, no network."""

from importlib.metadata import version

__version__ = version("sandbox-runner")

__all__ = ["__version__"]
