"""The apiary run pipeline and the `apiary` command line."""

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Read from the metadata when asked: importing any runner_core module stays cheap.
    if name == "__version__":
        from importlib.metadata import version

        return version("runner-core")
    raise AttributeError(f"module 'runner_core' has no attribute {name!r}")
