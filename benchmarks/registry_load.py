"""How fast apiary loads a registry, against a plain ``yaml.safe_load`` loop.

The plain loop is what the reference tool does: ``yaml.safe_load`` (PyYAML's pure-Python
loader) on every package file and on ``index.yaml``. apiary's load is measured cold (no
load cache) and warm (the cache written by a previous load, no file changed), in the same
run, each as the best of ``--repeat`` runs. Ratios above 1 mean apiary is faster.

    .venv/bin/python benchmarks/registry_load.py                 # 5,000 generated entries
    .venv/bin/python benchmarks/registry_load.py --entries 2000
    .venv/bin/python benchmarks/registry_load.py --registry ~/laruche   # a real registry

Generated registries cycle through the files of the laruche sample (in ../shared) when it
is there, renaming each copy, and otherwise write entries of the same shape.
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
SAMPLE = REPO.parent / "shared" / "fixtures" / "laruche-sample" / "packages"
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


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


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
        index = root / "index.yaml"

        def plain() -> None:
            for path in files:
                yaml.safe_load(path.read_text(encoding="utf-8"))
            if index.exists():
                yaml.safe_load(index.read_text(encoding="utf-8"))

        def libyaml() -> None:
            for path in files:
                yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
            if index.exists():
                yaml.load(index.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)

        def clear_cache() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        # Interleaved rounds: a machine whose load changes over a minute slows every
        # contender alike, and the best round of each is kept.
        rounds: dict[str, list[float]] = {"plain": [], "libyaml": [], "cold": [], "warm": []}
        for _ in range(options.repeat):
            rounds["plain"].append(timed(plain))
            rounds["libyaml"].append(timed(libyaml))
            clear_cache()
            rounds["cold"].append(timed(lambda: load_registry(root)))
            rounds["warm"] += [timed(lambda: load_registry(root)) for _ in range(3)]
        plain_s, libyaml_s, cold_s, warm_s = (min(rounds[k]) for k in rounds)
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
    print(f"{'plain yaml.safe_load loop':<28}{plain_s:8.3f} s")
    print(f"{'libyaml loop (reference)':<28}{libyaml_s:8.3f} s   {plain_s / libyaml_s:6.1f}x")
    print(
        f"{'apiary cold load':<28}{cold_s:8.3f} s   {plain_s / cold_s:6.1f}x"
        f"   (target >= {COLD_TARGET:.0f}x)"
    )
    print(
        f"{'apiary warm load':<28}{warm_s:8.3f} s   {plain_s / warm_s:6.1f}x"
        f"   (target >= {WARM_TARGET:.0f}x)"
    )
    met = plain_s / cold_s >= COLD_TARGET and plain_s / warm_s >= WARM_TARGET
    print("targets met" if met else "targets NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
