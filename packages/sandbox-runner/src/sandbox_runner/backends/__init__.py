"""Isolation backends behind one small Protocol, and the choice between them."""

from sandbox_runner.backends.base import Backend, Launch
from sandbox_runner.backends.bwrap import BwrapBackend, probe_bwrap
from sandbox_runner.backends.choose import choose_backend
from sandbox_runner.backends.none import NoneBackend

__all__ = ["Backend", "BwrapBackend", "Launch", "NoneBackend", "choose_backend", "probe_bwrap"]
