"""Reports of apiary runs: summaries, comparisons, flaky detection, shard merges."""

from importlib.metadata import version

__version__ = version("reporter")

__all__ = ["__version__"]
