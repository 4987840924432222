"""The monorepo's snapshot publisher: every non-internal package under ``packages/`` built,
verified and uploaded as ``<base>.dev<snapshot id>`` (``python -m snapshot_publisher``)."""

from importlib.metadata import version

__version__ = version("snapshot-publisher")

__all__ = ["__version__"]
