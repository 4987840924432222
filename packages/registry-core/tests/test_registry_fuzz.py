"""Generated hostile registry files: no traceback, bounded memory, the good entries load."""

from __future__ import annotations

import shutil
import tempfile
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from registry_core import load_registry

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# What one load of a small registry may allocate at its peak, whatever a file holds.
MEMORY_BUDGET = 64 << 20


def _alias_chain(levels: int, width: int, merge: bool) -> str:
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    if merge:
        lines.append(f"m0: &m0 {{k: v}}\nm1:\n  <<: *m0\n  k2: *a{levels - 1}")
    return "\n".join(lines)


fragments = st.one_of(
    st.builds(_alias_chain, st.integers(1, 40), st.integers(1, 40), st.booleans()),
    st.integers(1, 20_000).map(lambda n: "deep: " + "[" * n + "]" * n),
    st.integers(1, 2_000).map(
        lambda n: "d:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(n))
    ),
    st.integers(0, 5_000).map(lambda n: "".join(f"k{i}: {i}\n" for i in range(n)).rstrip("\n")),
    st.integers(0, 200_000).map(lambda n: "notes: " + "x" * n),
    st.sampled_from(
        [
            "&a",
            "*a",
            "repo: *nowhere",
            "x: !!python/object/apply:os.system ['true']",
            "x: !!binary aGVsbG8=",
            "? [a, b]\n: c",
            "x: 2024-01-01T00:00:00",
            "x: 0x" + "f" * 5000,
            "x: 1" + "0" * 5000,
            "---\na: 1\n---\nb: 2",
            "\t\x00\ufeff",
        ]
    ),
    st.text(max_size=200),
)
hostile_texts = st.lists(fragments, min_size=1, max_size=4).map("\n".join)


def _load_within_budget(root: Path) -> tuple[object, int]:
    tracemalloc.start()
    try:
        loaded = load_registry(root, use_cache=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return loaded, peak


@FUZZ
@given(package=hostile_texts, index=hostile_texts, header=st.booleans())
# found by this test: an int past Python's 4,300-digit conversion limit
@example(package="deep: []", index="x: 1" + "0" * 5000, header=False)
@example(package="download_count: 1" + "0" * 5000, index="", header=True)
def test_hostile_files_never_stop_the_good_ones(package: str, index: str, header: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="registry-fuzz-"))
    try:
        (root / "packages").mkdir()
        text = ("package: junk\n" if header else "") + package + "\n"
        (root / "packages" / "junk.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        (root / "packages" / "fine.yaml").write_text("package: fine\n")
        (root / "index.yaml").write_text(index + "\n", encoding="utf-8", errors="surrogatepass")
        loaded, peak = _load_within_budget(root)
        assert "fine" in loaded.entries  # type: ignore[attr-defined]
        for problem in loaded.problems:  # type: ignore[attr-defined]
            assert "\n" not in str(problem)
        assert peak < MEMORY_BUDGET, peak
    finally:
        shutil.rmtree(root)
