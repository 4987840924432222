"""The environments that install, import-check and test commands run with."""

from __future__ import annotations

import os
import secrets
import urllib.parse
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from sandbox_runner import filter_env

from runner_core.evidence.agent import COVERAGE_VARIABLE, STACKS_SIGNAL, STACKS_VARIABLE
from runner_core.sanitizers import NO_LEAKS, SANITIZER_LOGS, SanitizerPolicy, sanitizer_env
from runner_core.workdir import WorkLayout

# Never inherited: they would make the venv's interpreter load someone else's code.
_DROPPED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "__PYVENV_LAUNCHER__",
)
EVIDENCE_VARIABLE = "APIARY_EVIDENCE_DIR"


def base_env(
    venv_bin: Path, home: Path, inherited: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The host environment's allowlisted part (the sandbox's, proxies included: installs
    have the network) minus Python overrides, with the venv first on PATH."""
    source = dict(os.environ if inherited is None else inherited)
    env = _host_part(source)
    env["PATH"] = os.pathsep.join([str(venv_bin), source.get("PATH", "/usr/bin:/bin")])
    env["VIRTUAL_ENV"] = str(venv_bin.parent)
    env["HOME"] = str(home)
    env.setdefault("LANG", "C.UTF-8")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _host_part(source: Mapping[str, str]) -> dict[str, str]:
    allowed, _ = filter_env(dict(source), network=True)
    return {k: v for k, v in allowed.items() if k not in _DROPPED}


def uv_cache(package_cache: Path) -> Path:
    """uv's cache inside a package's cache folder."""
    return package_cache / "uv"


def package_cache(work_dir: Path, package: str) -> Path:
    """The uv and pip caches of one package's installs, and its venvs (made if missing).

    Never shared between packages: a build backend runs with write access to the cache
    its installer uses, so a shared one would let it plant code in what every later
    package installs. Test steps see only their venv of it.
    """
    path = WorkLayout(work_dir).package_cache(package)
    path.mkdir(parents=True, exist_ok=True)
    return path


def env_for_install(
    base: Mapping[str, str], cache_dir: Path, policy: SanitizerPolicy = NO_LEAKS
) -> dict[str, str]:
    """Install steps: JIT off (a crash inside pip is not a JIT crash) and the package's
    own caches. uv hard-links files out of its cache into the venv and its build
    environments, all inside the package's cache folder (copying them was a third of the
    CPU of a small install, and each copy a file more on the disk). A build backend or a
    test may write what was linked, which only this package's later installs read, as a
    build backend may write the whole cache anyway. Leaks are never reported here:
    `--leaks` is about the code under test, not the installers."""
    env = {**base, **sanitizer_env([base], replace(policy, leaks=False)).values}
    env["PIP_CACHE_DIR"] = str(cache_dir / "pip")
    return _installing(env, uv_cache(cache_dir))


def _installing(env: dict[str, str], uv_cache_dir: Path) -> dict[str, str]:
    """What every uv command apiary runs is given: its cache, no interpreter downloads,
    links out of the cache, and the JIT off (a crash in an installer is no JIT crash)."""
    env["PYTHON_JIT"] = "0"
    env["UV_CACHE_DIR"] = str(uv_cache_dir)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_LINK_MODE"] = "hardlink"
    return env


def store_env(cache_dir: Path, home: Path) -> dict[str, str]:
    """apiary's own filling of the shared store (see runner_core.store): the host's
    allowlisted variables (proxies, index settings, no secrets), a home of its own and no
    uv configuration file: a package may write one in its home, and it must never choose
    what every package's cache starts with. On a sanitizer build the target interpreter
    compiles with leak reports off, as installs run (its own leaks would fail the fill)."""
    env = _host_part(os.environ)
    env.update(sanitizer_env([env]).values)
    env.update(UV_NO_CONFIG="1", HOME=str(home))
    return _installing(env, cache_dir)


def env_for_import(base: Mapping[str, str], policy: SanitizerPolicy = NO_LEAKS) -> dict[str, str]:
    env = {**base, **sanitizer_env([base], policy).values}
    env["PYTHON_JIT"] = "0"
    env["PYTHONFAULTHANDLER"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def env_for_tests(
    base: Mapping[str, str],
    user_env: Mapping[str, str],
    pytest_addopts: str | None,
    evidence_dir: Path | None = None,
    policy: SanitizerPolicy = NO_LEAKS,
    keep_coverage: bool = False,
) -> dict[str, str]:
    """Test steps: JIT on, faulthandler on, coverage off, sanitizer defaults merged;
    ``--env`` wins.

    With `evidence_dir`, the step keeps its crash evidence there (see
    `runner_core.evidence`): the in-venv agent is switched on (it answers the stacks
    signal with every thread's stack), and sanitizer reports go to
    `<evidence_dir>/asan.PID` (ubsan, tsan) unless the user chose a `log_path`.
    """
    env = dict(base)
    env["PYTHON_JIT"] = "1"
    env["PYTHONFAULTHANDLER"] = "1"
    # Every run compiles the same modules: loading bytecode instead changes when garbage
    # collections fall, and a JIT hang that needs one at an exact count then goes away.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(sanitizer_env([user_env, base], policy, evidence_dir).values)
    if not keep_coverage:
        # A trace function switches the JIT off (see runner_core.evidence).
        env[COVERAGE_VARIABLE] = "off"
    if evidence_dir is not None:
        env[EVIDENCE_VARIABLE] = str(evidence_dir)
        env[STACKS_VARIABLE] = str(STACKS_SIGNAL)
    if pytest_addopts:
        env["PYTEST_ADDOPTS"] = pytest_addopts
    for key, value in user_env.items():
        if key not in {*SANITIZER_LOGS, "PYTEST_ADDOPTS"}:
            env[key] = value
    return env


# Installer settings that may name a local package index or wheel folder.
_INDEX_VARIABLES = (
    "PIP_FIND_LINKS",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_DEFAULT_INDEX",
)


def host_index_settings() -> list[tuple[str, str]]:
    """The host's variables that say where installers find packages, as installs and the
    store's fill get them (secret-bearing values withheld), with their values."""
    env = _host_part(os.environ)
    return [(name, env[name]) for name in _INDEX_VARIABLES if name in env]


def local_indexes(env: Mapping[str, str]) -> list[Path]:
    """Local folders the installer settings in `env` point at (`/opt/wheels`,
    `file:///srv/simple`): the sandbox shows them read-only to install steps."""
    found: list[Path] = []
    for name in _INDEX_VARIABLES:
        for word in env.get(name, "").replace(",", " ").split():
            name_part, sep, rest = word.partition("=")
            text = rest if sep and "://" not in name_part else word  # uv's NAME=URL
            if text.startswith("file://"):
                text = urllib.parse.unquote(urllib.parse.urlparse(text).path)
            path = Path(text)
            if path.is_absolute() and path.exists() and path not in found:
                found.append(path)
    return found


HASH_SEED = "PYTHONHASHSEED"


def with_hash_seed(user_env: dict[str, str]) -> dict[str, str]:
    """The tests' own variables with a fixed PYTHONHASHSEED: a JIT or GIL bug that shows
    with some hash seeds only (set and dict order decide what gets compiled when) then
    reproduces on the rerun, in the JIT-off and GIL-on runs and in the reproducer, all
    of which take these variables. A seed the run was given is kept."""
    if HASH_SEED in user_env:
        return user_env
    return {**user_env, HASH_SEED: str(secrets.randbelow(2**32 - 1) + 1)}
