from importlib.metadata import version

import registry_core


def test_version_comes_from_installed_metadata() -> None:
    assert registry_core.__version__ == version("registry-core")


def test_the_public_api() -> None:
    from pathlib import Path

    from registry_core import (
        IndexEntry,
        LoadedRegistry,
        PackageEntry,
        RegistryError,
        RegistryProblem,
        load_registry,
        locate_registry,
    )

    assert issubclass(registry_core.RegistryNotFoundError, RegistryError)
    problem = RegistryProblem(Path("packages/x.yaml"), 3, 7, "timeout", "bad")
    assert str(problem) == "packages/x.yaml:3:7: timeout: bad"
    assert {"has_compiled_code", "effective_import_name"} <= set(dir(PackageEntry))
    assert callable(load_registry) and callable(locate_registry)
    assert "name" in IndexEntry.model_fields and "by_popularity" in dir(LoadedRegistry)
