"""CPython builds: variants, keys, the cache, failures: on a stand-in source tree, in seconds.

The stand-in tree has CPython's markers (Include/patchlevel.h, configure) and a
`configure` that records its arguments and writes a Makefile whose `install` puts a
working `python3.13` (a link to this interpreter) under the prefix. The real build is
tested in test_jit_build_e2e.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from runner_core.interpreter import resolve_path
from runner_core.pythons import (
    BuildError,
    build_cpython,
    configure_flags,
    find_built,
    list_built,
    remove_built,
)
from runner_core.pythons.toolchain import installed_llvm

CONFIGURE = textwrap.dedent(
    """\
    #!/bin/sh
    # offers: OFFERS
    echo "$@" >> "$CALLS_FILE"
    for arg in "$@"; do case "$arg" in --prefix=*) prefix="${arg#--prefix=}";; esac; done
    if [ -n "$FAIL_CONFIGURE" ]; then echo "configure: error: $FAIL_CONFIGURE"; exit 1; fi
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PYTHON@|$PYTHON_FOR_TESTS|g" Makefile.in > Makefile
    """
)
MAKEFILE = (
    "all:\n"
    "\t@echo gcc -c -o Python/ceval.o Python/ceval.c\n"
    "\t@touch built.o\n"
    '\t@if [ -n "$(FAIL_MAKE)" ]; then echo "Modules/_ctypes/x.c:1:10: fatal error: '
    'ffi.h: No such file or directory"; exit 2; fi\n'
    "install:\n"
    "\tmkdir -p @PREFIX@/bin\n"
    "\tln -sf @PYTHON@ @PREFIX@/bin/python3.13\n"
)


def stand_in(path: Path, *, offers: str = "--with-pydebug --disable-gil") -> Path:
    (path / "Include").mkdir(parents=True)
    (path / "Include" / "patchlevel.h").write_text('#define PY_VERSION "3.13.5"\n')
    (path / "configure").write_text(CONFIGURE.replace("OFFERS", offers))
    (path / "configure").chmod(0o755)
    (path / "Makefile.in").write_text(MAKEFILE)
    return path


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYTHON_FOR_TESTS", sys.executable)
    monkeypatch.setenv("CALLS_FILE", str(tmp_path / "configure.calls"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "configure.calls").read_text().splitlines()


@pytest.mark.parametrize(
    ("variant", "flags"),
    [
        ("jit", ("--enable-experimental-jit",)),
        ("debug+jit", ("--enable-experimental-jit", "--with-pydebug")),
        ("asan", ("--with-address-sanitizer", "--without-pymalloc")),
        ("ft+tsan", ("--disable-gil", "--with-thread-sanitizer")),
    ],
)
def test_flags_of_each_variant(variant: str, flags: tuple[str, ...]) -> None:
    assert configure_flags(variant) == flags


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("turbo", "--variant 'turbo': unknown"),
        ("jit+", None),
        ("asan+tsan", "asan and tsan cannot share a build"),
    ],
)
def test_bad_variants_are_one_line(variant: str, message: str | None) -> None:
    if message is None:
        assert configure_flags(variant) == ("--enable-experimental-jit",)
        return
    with pytest.raises(BuildError, match=message):
        configure_flags(variant)


def test_a_build_is_keyed_cached_listed_found_and_removed(tmp_path: Path) -> None:
    source = stand_in(tmp_path / "cpython")
    cache = tmp_path / "xdg" / "apiary"
    first = build_cpython(source, "debug", cache=cache)
    assert first.name == "3.13.5-debug" and first.python.exists()
    args = calls(tmp_path)
    assert len(args) == 1 and "--with-pydebug" in args[0]
    assert f"--prefix={first.prefix}" in args[0] and f"PYTHON_FOR_REGEN={sys.executable}" in args[0]
    again = build_cpython(source, "debug", cache=cache)
    assert again.prefix == first.prefix and len(calls(tmp_path)) == 1  # no rebuild
    other = build_cpython(source, "ft", cache=cache)
    assert other.key != first.key and other.name == "3.13.5-ft"
    assert {b.name for b in list_built(cache)} == {"3.13.5-debug", "3.13.5-ft"}
    # --target-python NAME everywhere: the resolver knows the builds
    assert resolve_path("3.13.5-ft") == other.python
    assert find_built(first.full_name, cache) == first
    assert [b.name for b in remove_built("3.13.5-debug", cache)] == ["3.13.5-debug"]
    assert not first.prefix.exists() and find_built("3.13.5-debug", cache) is None


def test_a_changed_source_is_a_new_key(tmp_path: Path) -> None:
    source = stand_in(tmp_path / "cpython")
    cache = tmp_path / "c"
    first = build_cpython(source, "debug", cache=cache)
    (source / "Include" / "new.h").write_text("/* changed */\n")
    assert build_cpython(source, "debug", cache=cache).key != first.key


def test_tarball_sources_and_damaged_ones(tmp_path: Path) -> None:
    tree = stand_in(tmp_path / "Python-3.13.5")
    tarball = tmp_path / "Python-3.13.5.tar.xz"
    with tarfile.open(tarball, "w:xz") as archive:
        archive.add(tree, arcname="Python-3.13.5")
    built = build_cpython(tarball, "ft", cache=tmp_path / "c")
    assert built.source["kind"] == "tarball" and len(built.source["digest"]) == 64
    damaged = tmp_path / "damaged.tar.xz"
    damaged.write_bytes(tarball.read_bytes()[:200])
    with pytest.raises(BuildError, match="damaged or not a tar archive"):
        build_cpython(damaged, "ft", cache=tmp_path / "c")


def test_not_cpython_and_unsupported_variants_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError, match="not a CPython source folder"):
        build_cpython(tmp_path / "empty", "jit", cache=tmp_path / "c")
    old = stand_in(tmp_path / "old", offers="--with-pydebug")  # like 3.12: no --disable-gil
    with pytest.raises(
        BuildError, match="cannot build --disable-gil: its configure does not offer"
    ):
        build_cpython(old, "ft", cache=tmp_path / "c")
    assert list_built(tmp_path / "c") == []


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("FAIL_CONFIGURE", "configure failed: no acceptable C compiler"),
        ("FAIL_MAKE", "compile failed: the libffi headers are missing"),
    ],
)
def test_a_failed_phase_names_itself_its_cause_and_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, message: str
) -> None:
    monkeypatch.setenv(variable, "no acceptable C compiler found in $PATH")
    source = stand_in(tmp_path / "cpython")
    with pytest.raises(BuildError, match=message) as raised:
        build_cpython(source, "debug", cache=tmp_path / "c")
    assert "(log: " in str(raised.value) and "\n" not in str(raised.value)
    assert list_built(tmp_path / "c") == []


def test_an_interrupted_build_leaves_nothing_listed(tmp_path: Path) -> None:
    source = stand_in(tmp_path / "cpython")

    def interrupt(phase: str, detail: str) -> None:
        if phase == "install":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_cpython(source, "debug", cache=tmp_path / "c", report=interrupt)
    assert list_built(tmp_path / "c") == []
    assert not list((tmp_path / "c" / "pythons").glob("cpython-*"))
    assert build_cpython(source, "debug", cache=tmp_path / "c").python.exists()


def test_commits_of_one_checkout_share_a_build_folder(tmp_path: Path) -> None:
    repo = stand_in(tmp_path / "checkout")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=repo, check=True)
    first_commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    (repo / "Include" / "more.h").write_text("\n")
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "two"], cwd=repo, check=True)
    cache = tmp_path / "c"
    second = build_cpython(repo, "debug", rev="HEAD", cache=cache)
    first = build_cpython(repo, "debug", rev=first_commit, cache=cache)
    assert first.name == f"3.13.5-{first_commit[:10]}-debug" and first.key != second.key
    folders = list((cache / "pythons" / "build").iterdir())
    assert len(folders) == 1  # one build folder: the second commit built incrementally
    assert (folders[0] / "src" / "built.o").exists()
    with pytest.raises(BuildError, match="git rev-parse"):
        build_cpython(repo, "debug", rev="no-such-rev", cache=cache)


def test_cli_build_list_remove(tmp_path: Path) -> None:
    source = stand_in(tmp_path / "cpython")
    apiary = str(Path(sys.executable).with_name("apiary"))
    env = {**os.environ, "CI": "1"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [apiary, "python", *args], capture_output=True, text=True, env=env, check=False
        )

    built = run("build", str(source), "--variant", "ft")
    assert built.returncode == 0, built.stderr
    assert "[configure]" in built.stderr and "--target-python 3.13.5-ft" in built.stdout
    listed = run("list")
    assert "3.13.5-ft" in listed.stdout and "folder" in listed.stdout
    bad = run("build", str(tmp_path), "--variant", "turbo")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown" in bad.stderr
    assert run("remove", "3.13.5-ft").returncode == 0
    assert run("remove", "3.13.5-ft").returncode == 2


def test_a_jit_source_pinned_to_an_absent_llvm_needs_an_explicit_choice(tmp_path: Path) -> None:
    llvm = installed_llvm()
    assert llvm is not None, "clang/LLVM are installed by scripts/bootstrap.sh"
    source = stand_in(tmp_path / "cpython", offers="--enable-experimental-jit")
    (source / "Tools" / "jit").mkdir(parents=True)
    (source / "Tools" / "jit" / "_llvm.py").write_text("_LLVM_VERSION = 7\n")
    with pytest.raises(BuildError, match=f"expects LLVM 7, which is not installed.*--llvm {llvm}"):
        build_cpython(source, "jit", cache=tmp_path / "c")
    said: list[str] = []
    built = build_cpython(
        source, "jit", llvm=llvm, cache=tmp_path / "c", report=lambda p, d: said.append(d)
    )
    assert built.python.exists()
    assert any(f"with the installed LLVM {llvm} instead" in line for line in said)
    with pytest.raises(BuildError, match="--llvm 6: no clang-6"):
        build_cpython(source, "jit", llvm=6, cache=tmp_path / "c")
