from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runner_core.versions import APIARY_PACKAGES, installed_versions


def test_apiary_version_lists_every_package_as_a_user_runs_it() -> None:
    apiary = Path(sys.executable).with_name("apiary")
    done = subprocess.run([str(apiary), "--version"], capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(APIARY_PACKAGES)
    versions = installed_versions()
    assert all(f"{name} {versions[name]}" in lines for name in APIARY_PACKAGES)
    assert None not in versions.values()
