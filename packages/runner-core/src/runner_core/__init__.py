"""The apiary run pipeline and the `apiary` command line."""

from importlib.metadata import version

__version__ = version("runner-core")

__all__ = ["__version__"]
