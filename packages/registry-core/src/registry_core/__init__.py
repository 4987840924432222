"""The apiary package registry: load, validate, edit and index registry files."""

from importlib.metadata import version

__version__ = version("registry-core")

__all__ = ["__version__"]
