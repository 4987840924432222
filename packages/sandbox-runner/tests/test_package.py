from importlib.metadata import version

import sandbox_runner


def test_version_comes_from_installed_metadata() -> None:
    assert sandbox_runner.__version__ == version("sandbox-runner")
