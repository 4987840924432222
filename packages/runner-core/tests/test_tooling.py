"""Finding uv: one search for the runner, `apiary doctor` and the snapshot publisher."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runner_core.tooling import find_uv
from uv import find_uv_bin


def _program(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_apiary_uv_comes_first_then_the_older_uv_variable(tmp_path: Path) -> None:
    ours, older = str(tmp_path / "ours"), str(tmp_path / "older")
    assert find_uv({"APIARY_UV": ours, "UV": older}) == ours
    assert find_uv({"UV": older}) == older
    assert find_uv({"APIARY_UV": "", "UV": older}) == older  # set but empty: not set


def test_none_means_no_uv_whichever_variable_says_it(tmp_path: Path) -> None:
    assert find_uv({"APIARY_UV": "none", "UV": str(tmp_path / "uv")}) is None
    assert find_uv({"UV": "none"}) is None


def test_without_a_variable_the_uv_package_installed_with_apiary() -> None:
    assert find_uv({"PATH": os.defpath}) == find_uv_bin()


def test_default_environment_is_this_process() -> None:
    assert find_uv() == find_uv(dict(os.environ))
