"""The compilers a build uses: the C compiler (with ccache) and, for the JIT, LLVM."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runner_core.pythons.errors import BuildError
from runner_core.pythons.phases import Report

_LLVM_PIN = re.compile(r"^_LLVM_VERSION = (\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class Toolchain:
    cc: str
    compiler: str
    llvm: int | None
    llvm_chosen: bool = False  # asked for with --llvm, rather than found

    def describe(self) -> list[object]:
        return [self.cc, self.compiler, self.llvm]

    def prepare(self, tree: Path, report: Report) -> None:
        """Point the JIT's stencil build at the LLVM that is installed, and say so."""
        if self.llvm is None:
            return
        pin_file = tree / "Tools" / "jit" / "_llvm.py"
        try:
            text = pin_file.read_text(encoding="utf-8")
        except OSError:
            return
        found = _LLVM_PIN.search(text)
        if found is None or int(found.group(1)) == self.llvm:
            return
        self.check_pin(text)
        report(
            "llvm",
            f"this source's JIT expects LLVM {found.group(1)}; building its stencils with the "
            f"installed LLVM {self.llvm} instead (not what upstream's CI uses; a stencil bug "
            f"may then be LLVM {self.llvm}'s)",
        )
        pin_file.write_text(_LLVM_PIN.sub(f"_LLVM_VERSION = {self.llvm}", text), encoding="utf-8")

    def check_pin(self, pin_text: str) -> None:
        """Refuse a JIT source pinned to an LLVM that is absent, unless --llvm chose one
        (`pin_text`: the source's Tools/jit/_llvm.py)."""
        found = _LLVM_PIN.search(pin_text)
        if self.llvm is None or self.llvm_chosen or found is None:
            return
        expected = int(found.group(1))
        if expected != self.llvm:
            raise BuildError(
                f"this source's JIT expects LLVM {expected}, which is not installed (LLVM "
                f"{self.llvm} is): apt-get install clang-{expected} llvm-{expected} "
                f"lld-{expected}, or pass --llvm {self.llvm} to build the stencils with it"
            )

    def env(self, *, asan: bool = False) -> dict[str, str]:
        env = dict(os.environ)
        if self.llvm is not None:
            env["PATH"] = f"/usr/lib/llvm-{self.llvm}/bin:{env.get('PATH', '')}"
        if asan:
            env["ASAN_OPTIONS"] = "detect_leaks=0"  # LeakSanitizer stops make at the bootstrap
        return env


def find_toolchain(flags: tuple[str, ...], llvm: int | None = None) -> Toolchain:
    cc = os.environ.get("CC") or "gcc"
    if shutil.which(cc.split()[0]) is None:
        raise BuildError(f"no C compiler: {cc!r} is not on PATH (apt-get install gcc)")
    compiler = _first_line([*cc.split(), "--version"])
    if shutil.which("ccache") and not cc.startswith("ccache"):
        cc = f"ccache {cc}"
    needs_llvm = "--enable-experimental-jit" in flags
    if llvm is not None and not Path(f"/usr/lib/llvm-{llvm}/bin/clang").exists():
        raise BuildError(
            f"--llvm {llvm}: no clang-{llvm} (apt-get install clang-{llvm} llvm-{llvm})"
        )
    chosen = (llvm or installed_llvm()) if needs_llvm else None
    if needs_llvm and chosen is None:
        raise BuildError(
            "the JIT needs clang and LLVM for its stencils: apt-get install clang-19 llvm-19 lld-19"
        )
    return Toolchain(cc, compiler, chosen, llvm_chosen=llvm is not None)


def installed_llvm() -> int | None:
    """The newest LLVM with clang under /usr/lib/llvm-N (Debian's layout)."""
    versions = [
        int(p.parent.parent.name.removeprefix("llvm-"))
        for p in Path("/usr/lib").glob("llvm-*/bin/clang")
        if p.parent.parent.name.removeprefix("llvm-").isdigit()
    ]
    return max(versions) if versions else None


def _first_line(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (done.stdout.splitlines() or ["unknown"])[0]
