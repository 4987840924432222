from importlib.metadata import version

import reporter


def test_version_comes_from_installed_metadata() -> None:
    assert reporter.__version__ == version("reporter")
