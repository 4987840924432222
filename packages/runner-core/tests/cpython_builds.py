"""Real CPython builds for the tests that need one: fetched from Debian's archive, cached.

The tarball is Debian's pristine upstream `.orig.tar.xz` of CPython 3.13.5 (python.org
and GitHub are not reachable here), pinned by sha256; the build lands in the user cache
keyed by that digest and the variant, so only a fresh machine pays for it (minutes).
"""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

from runner_core.pythons import BuiltPython, build_cpython, user_cache
from runner_core.pythons.toolchain import installed_llvm

TARBALL_URL = "http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_3.13.5.orig.tar.xz"
TARBALL_SHA256 = "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"


def cpython_tarball() -> Path:
    target = user_cache() / "sources" / f"cpython-3.13.5-{TARBALL_SHA256[:12]}.tar.xz"
    if target.is_file() and _sha256(target) == TARBALL_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with urllib.request.urlopen(TARBALL_URL, timeout=120) as answer, partial.open("wb") as out:
        while block := answer.read(1 << 20):
            out.write(block)
    if _sha256(partial) != TARBALL_SHA256:
        partial.unlink()
        raise RuntimeError(f"{TARBALL_URL}: the download does not match its pinned sha256")
    partial.replace(target)
    return target


def built(variant: str) -> BuiltPython:
    """3.13's JIT pins LLVM 18; Debian 12 has 19, which builds a working JIT."""
    llvm = installed_llvm() if "jit" in variant else None
    return build_cpython(cpython_tarball(), variant, llvm=llvm)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
