"""Installs the in-interpreter agent into a venv: a module, its `.pth`, its pytest entry point."""

from __future__ import annotations

import signal
from pathlib import Path

from normalized_events.files import read_head, write_atomic

from runner_core.planted import refuse_links

AGENT_MODULE = "_apiary_evidence"
_SOURCE = Path(__file__).with_name(f"{AGENT_MODULE}.py")
# The signal a hung suite's interpreters answer with every thread's stack (faulthandler):
# a real-time one, which test suites leave alone, unlike SIGUSR1/2.
STACKS_SIGNAL = int(signal.SIGRTMIN) + 4
STACKS_VARIABLE = "APIARY_STACKS_SIGNAL"
# "off": the agent keeps pytest-cov from starting coverage (see _apiary_evidence).
COVERAGE_VARIABLE = "APIARY_COVERAGE"
_DIST_INFO = "apiary_evidence-1.dist-info"
_METADATA = "Metadata-Version: 2.1\nName: apiary-evidence\nVersion: 1\n"
_ENTRY_POINTS = f"[pytest11]\napiary_evidence = {AGENT_MODULE}\n"


def agent_source() -> Path:
    """The agent module's file (what `install_agent` copies)."""
    return _SOURCE


def site_packages(venv_path: Path) -> Path:
    """The venv's site-packages (`lib/python3.X/site-packages`, `python3.13t` included)."""
    found = sorted(venv_path.glob("lib/python*/site-packages"))
    if not found:
        raise FileNotFoundError(f"{venv_path}: no lib/python*/site-packages folder")
    return found[0]


def install_agent(venv_path: Path) -> Path:
    """Write (or refresh) the agent into the venv; return the site-packages folder.

    Idempotent and cheap: files are rewritten only when their content changed, so a venv
    reused across runs picks up a newer agent.
    """
    target = site_packages(venv_path)
    refuse_links((venv_path,), target, "site-packages folder")
    _write(target / f"{AGENT_MODULE}.py", _SOURCE.read_text(encoding="utf-8"))
    _write(target / f"{AGENT_MODULE}.pth", f"import {AGENT_MODULE}\n")
    dist_info = target / _DIST_INFO
    refuse_links((target,), dist_info, "folder")
    dist_info.mkdir(exist_ok=True)
    _write(dist_info / "METADATA", _METADATA)
    _write(dist_info / "entry_points.txt", _ENTRY_POINTS)
    _write(dist_info / "top_level.txt", f"{AGENT_MODULE}\n")
    return target


def _write(path: Path, text: str) -> None:
    """Rewritten unless it holds `text`; read and replaced without following a link (the
    venv is writable by the code it runs, see `runner_core.planted`)."""
    wanted = text.encode("utf-8")
    try:
        if read_head(path, len(wanted) + 1) == (wanted, len(wanted)):
            return
    except OSError:
        pass
    write_atomic(path, wanted)
