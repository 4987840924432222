"""How fast apiary loads a registry, against a plain ``yaml.safe_load`` loop.

The plain loop is what the reference tool does: ``yaml.safe_load`` (PyYAML's pure-Python
loader) on every package file and on ``index.yaml``. apiary's load is measured cold (no
load cache) and warm (the cache written by a previous load, no file changed), in the same
run, in interleaved rounds (the best round of each is kept, and CPU time is shown beside
wall-clock time). Ratios above 1 mean apiary is faster.

    .venv/bin/python benchmarks/registry_load.py                 # 5,000 generated entries
    .venv/bin/python benchmarks/registry_load.py --entries 2000
    .venv/bin/python benchmarks/registry_load.py --registry ~/laruche   # a real registry

Generated registries cycle through the files of the laruche sample (registry-core's test
data), renaming each copy, or write entries of the same shape when it is not there.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "packages" / "registry-core" / "tests" / "data" / "laruche-sample" / "packages"
COLD_TARGET, WARM_TARGET = 5.0, 30.0


def _templates() -> list[tuple[str, str]]:
    if SAMPLE.is_dir():
        return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(SAMPLE.glob("*.yaml"))]
    entry = {
        "package": "demo",
        "repo": "https://github.com/example/demo",
        "pypi_url": "https://pypi.org/project/demo/",
        "extension_type": "pure",
        "python_versions": ["3.15", "3.14"],
        "install_method": "pip",
        "install_command": "pip install -e . && pip install pytest",
        "test_command": "python -m pytest tests/ -p no:xdist",
        "test_framework": "pytest",
        "uses_xdist": False,
        "timeout": None,
        "skip": False,
        "skip_reason": None,
        "skip_versions": {},
        "notes": "A package whose notes are long enough to be folded by the emitter "
        "over more than one line, as many real entries are.",
        "enriched": True,
        "clone_depth": None,
        "import_name": None,
    }
    return [("demo", yaml.safe_dump(entry, sort_keys=False))]


def build_registry(root: Path, count: int) -> None:
    """``count`` package files and their index under ``root``."""
    packages = root / "packages"
    packages.mkdir(parents=True)
    templates = _templates()
    index = []
    for number in range(count):
        stem, text = templates[number % len(templates)]
        name = f"{stem}-{number}"
        text = text.replace(f"package: {stem}\n", f"package: {name}\n", 1)
        (packages / f"{name}.yaml").write_text(text, encoding="utf-8")
        data = yaml.safe_load(text)
        index.append(
            {
                "name": name,
                "download_count": 10_000_000_000 - number,
                "extension_type": data.get("extension_type", "unknown"),
                "enriched": bool(data.get("enriched")),
                "skip": bool(data.get("skip")),
                "skip_versions_keys": sorted(data.get("skip_versions") or {}),
            }
        )
    document = {"last_updated": "2026-03-07T00:03:32", "packages": index}
    (root / "index.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run (CPU time is steadier on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


Times = dict[str, float]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000, help="entries to generate")
    parser.add_argument("--registry", type=Path, help="measure this registry folder instead")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (the best of each is kept)")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="apiary-bench-"))
    cache = work / "cache"
    os.environ["APIARY_CACHE_DIR"] = str(cache)
    os.environ.pop("APIARY_NO_CACHE", None)
    from registry_core import load_registry
    from registry_core.cache import RACY_WINDOW_NS

    try:
        root = options.registry
        if root is None:
            root = work / "registry"
            build_registry(root, options.entries)
            # The cache does not trust files changed in the last two seconds (an edit
            # within the timestamp granularity could hide); a registry is not that fresh.
            time.sleep(RACY_WINDOW_NS / 1e9 + 0.2)
        files = sorted((root / "packages").glob("*.yaml"))
        wall, cpu = measure(root, cache, options.repeat)
        loaded = load_registry(root)
        warm = load_registry(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"registry: {root if options.registry else f'{len(files)} generated entries'}")
    print(
        f"python {platform.python_version()}, PyYAML {yaml.__version__} "
        f"(libyaml: {yaml.__with_libyaml__}), {os.cpu_count()} cpu(s)"
    )
    print(
        f"entries loaded: {len(loaded.entries)}, problems: {len(loaded.problems)}, "
        f"warm load parsed {warm.stats.parsed} file(s), {warm.stats.from_cache} from cache"
    )
    report(wall, cpu)
    return 0


def yaml_loops(root: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    """The alternatives: every file read with PyYAML's safe loader, pure and libyaml."""
    files = sorted((root / "packages").glob("*.yaml"))
    index = root / "index.yaml"
    paths = [*files, index] if index.exists() else files

    def plain() -> None:
        for path in paths:
            yaml.safe_load(path.read_text(encoding="utf-8"))

    def libyaml() -> None:
        for path in paths:
            yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)

    return plain, libyaml


def measure(root: Path, cache: Path, repeat: int) -> tuple[Times, Times]:
    """Best wall and CPU seconds of each contender, over interleaved rounds: a machine
    whose load changes over a minute slows every contender alike."""
    from registry_core import load_registry

    plain, libyaml = yaml_loops(root)
    rounds: dict[str, list[tuple[float, float]]] = {
        "plain": [],
        "libyaml": [],
        "cold": [],
        "warm": [],
    }
    for _ in range(repeat):
        rounds["plain"].append(timed(plain))
        rounds["libyaml"].append(timed(libyaml))
        shutil.rmtree(cache, ignore_errors=True)
        rounds["cold"].append(timed(lambda: load_registry(root)))
        rounds["warm"] += [timed(lambda: load_registry(root)) for _ in range(3)]
    wall = {name: min(t[0] for t in runs) for name, runs in rounds.items()}
    cpu = {name: min(t[1] for t in runs) for name, runs in rounds.items()}
    return wall, cpu


def report(wall: Times, cpu: Times) -> None:
    print(f"{'':<28}{'wall s':>8} {'ratio':>7}   {'cpu s':>8} {'ratio':>7}")
    labels = {
        "plain": "plain yaml.safe_load loop",
        "libyaml": "libyaml loop (reference)",
        "cold": "apiary cold load",
        "warm": "apiary warm load",
    }
    for name, label in labels.items():
        print(
            f"{label:<28}{wall[name]:8.3f} {wall['plain'] / wall[name]:6.1f}x"
            f"   {cpu[name]:8.3f} {cpu['plain'] / cpu[name]:6.1f}x"
        )
    cold_ratio, warm_ratio = wall["plain"] / wall["cold"], wall["plain"] / wall["warm"]
    print(
        f"targets (wall clock): cold >= {COLD_TARGET:.0f}x: {cold_ratio:.1f}x, "
        f"warm >= {WARM_TARGET:.0f}x: {warm_ratio:.1f}x -> "
        + ("met" if cold_ratio >= COLD_TARGET and warm_ratio >= WARM_TARGET else "NOT met")
    )


if __name__ == "__main__":
    sys.exit(main())
