from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from runner_core.commands import (
    Installer,
    needs_seeded_venv,
    plan_steps,
    pytest_addopts,
    registry_repo_problem,
    safe_path_of,
    split_steps,
)
from runner_core.environment import base_env, env_for_tests
from runner_core.sanitizers import sanitizer_env

PY = Path("/v/bin/python")


@pytest.mark.parametrize(
    ("command", "steps"),
    [
        ("pip install -e .", [["pip", "install", "-e", "."]]),
        (
            "pip install -e '.[test]' && pip install pytest-mock",
            [["pip", "install", "-e", ".[test]"], ["pip", "install", "pytest-mock"]],
        ),
        (
            "python -m pip install -e . ; python -m pytest",
            [["python", "-m", "pip", "install", "-e", "."], ["python", "-m", "pytest"]],
        ),
        ("pip install a\npip install b", [["pip", "install", "a"], ["pip", "install", "b"]]),
        ("", []),
        (None, []),
        ("   ", []),
    ],
)
def test_split_steps_is_shell_aware(command: str | None, steps: list[list[str]]) -> None:
    assert split_steps(command) == steps


def test_pip_install_becomes_uv_or_pip_and_python_the_venv_interpreter() -> None:
    steps = plan_steps("python -m pip install -e '.[test]' && python -m pytest -x", PY, "uv", "/uv")
    assert steps[0].argv == ("/uv", "pip", "install", "--python", str(PY), "-e", ".[test]")
    assert steps[0].pip_install
    assert steps[1].argv == (str(PY), "-m", "pytest", "-x")
    pip = plan_steps("pip install -e .", PY, "pip", "/uv")
    assert pip[0].argv == (str(PY), "-m", "pip", "install", "-e", ".")


def test_words_containing_python_are_not_rewritten() -> None:
    # The reference tool's string replacement broke exactly these.
    steps = plan_steps("python3 -m pytest tests/python_tests --python-opt=python", PY, "uv", None)
    assert steps[0].argv == (str(PY), "-m", "pytest", "tests/python_tests", "--python-opt=python")


def test_cd_and_env_assignments_apply_to_their_steps() -> None:
    steps = plan_steps("cd src && FOO=1 pip install -e . && python -m pytest", PY, "uv", "/uv")
    assert steps[0].cwd == "src" and steps[0].env == {"FOO": "1"}
    assert steps[1].cwd == "src" and steps[1].env == {}


def test_shell_syntax_runs_through_the_shell() -> None:
    (step,) = plan_steps("python -m pytest | tee out.txt", PY, "uv", None)
    assert step.shell is not None and "tee" in step.shell and step.argv == ()
    (step,) = plan_steps("python -m pytest $EXTRA", PY, "uv", None)
    assert step.shell is not None


def test_xdist_is_disabled_through_pytest_addopts_keeping_what_was_there() -> None:
    assert pytest_addopts(None, uses_xdist=False) is None
    assert pytest_addopts(None, uses_xdist=True) == "-p no:xdist"
    assert pytest_addopts("-x --tb=short", uses_xdist=True) == "-x --tb=short -p no:xdist"
    assert pytest_addopts("-p no:xdist", uses_xdist=True) == "-p no:xdist"


def test_a_test_command_keeping_xdist_in_one_process_gets_no_p_no_xdist() -> None:
    for command in ("python -m pytest -n 0", "pytest -n0 tests", "pytest --numprocesses=0"):
        assert pytest_addopts("-x", uses_xdist=True, test_command=command) == "-x"
    assert pytest_addopts(None, True, "pytest -n 4") == "-p no:xdist"
    assert pytest_addopts(None, True, "pytest -k 'n 0") == "-p no:xdist"


def test_asan_options_are_merged_not_clobbered() -> None:
    def asan(text: str | None) -> str:
        sources: list[Mapping[str, str]] = [{"ASAN_OPTIONS": text}] if text is not None else []
        return sanitizer_env(sources).values["ASAN_OPTIONS"]

    assert asan(None) == "detect_leaks=0"
    assert asan("halt_on_error=1") == "halt_on_error=1:detect_leaks=0"
    assert asan("detect_leaks=1:abort_on_error=1") == "detect_leaks=1:abort_on_error=1"


def test_test_env_jit_on_python_overrides_removed_user_env_wins(tmp_path: Path) -> None:
    host = {
        "PATH": "/usr/bin",
        "PYTHONPATH": "/evil",
        "PYTHONHOME": "/evil",
        "HOME": "/root",
        "ASAN_OPTIONS": "halt_on_error=1",
    }
    base = base_env(tmp_path / "venv" / "bin", tmp_path / "home", host)
    env = env_for_tests(base, {"PYTHON_JIT": "0", "X": "1"}, "-p no:xdist")
    assert env["PATH"].startswith(str(tmp_path / "venv" / "bin"))
    assert "PYTHONPATH" not in env and "PYTHONHOME" not in env
    assert env["PYTHON_JIT"] == "0" and env["X"] == "1"
    assert env["PYTHONFAULTHANDLER"] == "1" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["ASAN_OPTIONS"] == "halt_on_error=1:detect_leaks=0"
    assert env["PYTEST_ADDOPTS"] == "-p no:xdist"
    assert env["HOME"] == str(tmp_path / "home")
    assert env_for_tests(base, {}, None)["PYTHON_JIT"] == "1"


def test_local_indexes_named_by_installer_settings(tmp_path: Path) -> None:
    from runner_core.environment import local_indexes

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    env = {
        "PIP_FIND_LINKS": str(wheels),
        "UV_INDEX": f"local={wheels.as_uri()} https://pypi.org/simple",
        "PIP_EXTRA_INDEX_URL": "file:///no/such/folder",
        "PIP_INDEX_URL": "https://pypi.org/simple",
    }
    assert local_indexes(env) == [wheels]


@pytest.mark.parametrize(
    ("install", "test", "installer", "seeded"),
    [
        ("pip install -e . pytest", "python -m pytest", "uv", False),
        ("pip install -e '.[test]' && python -m pip install pytest-mock", "pytest", "uv", False),
        ("pip install -e .", "python -m pytest", "pip", True),  # pip itself installs
        ("python setup.py develop", "python -m pytest", "uv", True),
        ("pip install -e . && pip uninstall -y six", "python -m pytest", "uv", True),
        ("pip install -e . | tee log", "python -m pytest", "uv", True),  # a shell line
        ("make install", "python -m pytest", "uv", True),
        ("pip install -e .", "python -m pip check && python -m pytest", "uv", True),
        ("pip install -e .", "python setup.py test", "uv", True),
        ("", "python -m pytest", "uv", False),
    ],
)
def test_venvs_are_seeded_unless_uv_does_every_install_step(
    install: str, test: str, installer: Installer, seeded: bool
) -> None:
    assert needs_seeded_venv(install, test, installer, "/usr/bin/uv") is seeded
    assert needs_seeded_venv(install, test, installer, None) is True


def test_the_import_check_takes_the_safe_path_of_the_test_command() -> None:
    assert safe_path_of("PYTHONSAFEPATH=1 python -m pytest --import-mode=append") == {
        "PYTHONSAFEPATH": "1"
    }
    assert safe_path_of("LANG=C PYTHONSAFEPATH=1 pytest") == {"PYTHONSAFEPATH": "1"}
    assert safe_path_of("python -m pytest PYTHONSAFEPATH=1") == {}  # an argument, not env
    assert safe_path_of("cd tests && PYTHONSAFEPATH=1 pytest") == {"PYTHONSAFEPATH": "1"}
    assert safe_path_of(None) == {}


@pytest.mark.parametrize(
    ("repo", "problem"),
    [
        ("https://github.com/a/b", None),
        ("git@github.com:a/b.git", None),
        ("ssh://git@example.org/a/b", None),
        ("/tmp/checkouts/b", None),
        ("file:///tmp/checkouts/b", None),
        ("file:///root/private", "the repository file:///root/private is a private host path"),
        ("/etc", "the repository /etc is a private host path"),
        (f"{Path.home()}/src/b", f"the repository {Path.home()}/src/b is a private host path"),
        ("file:///%72oot/x", "the repository file:///%72oot/x is a private host path"),
        ("../../../../root/x", "the repository '../../../../root/x' is a relative local path"),
        ("github.com/a/b", "the repository 'github.com/a/b' is a relative local path"),
    ],
)
def test_which_repositories_a_registry_entry_may_name(repo: str, problem: str | None) -> None:
    refused = ": a registry entry may not name it (--repo-override can)"
    assert registry_repo_problem(repo) == (None if problem is None else problem + refused)


def test_a_registry_repository_linked_to_a_private_place_is_refused(tmp_path: Path) -> None:
    (tmp_path / "to-root").symlink_to("/root")
    found = registry_repo_problem(f"{tmp_path}/to-root/private")
    assert found is not None
    assert found.startswith(f"the repository {tmp_path}/to-root/private is a private host path")
