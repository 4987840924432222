from importlib.metadata import version

import registry_core


def test_version_comes_from_installed_metadata() -> None:
    assert registry_core.__version__ == version("registry-core")
