"""Bisection builds: one folder per checkout and variant; the JIT's rewritten LLVM pin
keeps its time when a step leaves it as the previous step built it (no stencil rebuild)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from runner_core.pythons import BuildError
from runner_core.pythons.stepbuild import _pin_state, _restore_pin_mtime, build_folder
from runner_core.pythons.toolchain import Toolchain

JIT = Toolchain("gcc", "gcc (Debian 12.2.0-14) 12.2.0", 19, llvm_chosen=True)


def _pin(tree: Path, version: int, mtime_ns: int) -> Path:
    pin = tree / "Tools" / "jit" / "_llvm.py"
    pin.parent.mkdir(parents=True, exist_ok=True)
    pin.write_text(f"_LLVM_VERSION = {version}\n")
    os.utime(pin, ns=(mtime_ns, mtime_ns))
    return pin


def test_a_pin_rewritten_to_what_the_last_step_built_keeps_its_time(tmp_path: Path) -> None:
    pin = _pin(tmp_path, 19, 1_000_000_000_000_000_000)
    kept = _pin_state(tmp_path, JIT)
    _pin(tmp_path, 19, 2_000_000_000_000_000_000)  # checkout, then prepare: same text
    _restore_pin_mtime(tmp_path, JIT, kept)
    assert pin.stat().st_mtime_ns == 1_000_000_000_000_000_000


def test_a_pin_that_changed_keeps_its_new_time(tmp_path: Path) -> None:
    pin = _pin(tmp_path, 19, 1_000_000_000_000_000_000)
    kept = _pin_state(tmp_path, JIT)
    _pin(tmp_path, 20, 2_000_000_000_000_000_000)
    _restore_pin_mtime(tmp_path, JIT, kept)
    assert pin.stat().st_mtime_ns == 2_000_000_000_000_000_000


def test_without_the_jit_the_pin_is_never_touched(tmp_path: Path) -> None:
    plain = Toolchain("gcc", "gcc", None)
    _pin(tmp_path, 19, 1_000_000_000_000_000_000)
    assert _pin_state(tmp_path, plain) is None


def test_one_build_folder_per_checkout_and_variant(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    plain_a = build_folder(a, "plain", cache=tmp_path)
    assert plain_a == build_folder(a, "plain", cache=tmp_path)
    assert plain_a != build_folder(b, "plain", cache=tmp_path)
    assert plain_a != build_folder(a, "debug", cache=tmp_path)
    assert plain_a.parent == tmp_path / "pythons" / "build"
    with pytest.raises(BuildError, match="--variant 'nope': unknown"):
        build_folder(a, "nope", cache=tmp_path)
