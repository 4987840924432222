"""`apiary` imports a subcommand's module only when that subcommand runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from runner_core.cli import SUBCOMMANDS, ApiaryGroup, app
from typer.main import get_command
from typer.testing import CliRunner

APIARY = Path(sys.executable).with_name("apiary")

# What `apiary` imports for the command given, listed as the top-level names of interest.
_PROBE = """
import json, sys
sys.argv = ["apiary", *sys.argv[1:]]
from runner_core.launch import main
try:
    main()
except SystemExit:
    pass
heavy = {"pydantic", "registry_core", "reporter", "sandbox_runner", "normalized_events", "rich"}
loaded = sorted({m.split(".")[0] for m in sys.modules} & heavy)
mods = sorted(m for m in sys.modules if m.startswith("runner_core."))
print(json.dumps({"loaded": loaded, "runner_core": mods}), file=sys.stderr)
"""


def _imported(*argv: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True
    )
    found: dict[str, list[str]] = json.loads(done.stderr.strip().splitlines()[-1])
    return found


def test_help_and_version_import_no_command_module() -> None:
    for argv in (["--help"], ["--version"], []):
        found = _imported(*argv)
        assert found["loaded"] == [], argv
        assert set(found["runner_core"]) <= {
            "runner_core.cli",
            "runner_core.lazycli",
            "runner_core.launch",
            "runner_core.versions",
        }, argv


def test_version_fast_path_prints_what_the_option_prints() -> None:
    fast = subprocess.run([str(APIARY), "--version"], capture_output=True, text=True, check=True)
    # After another option the version is printed by the command line's eager option.
    typer_path = CliRunner().invoke(app, ["--version", "doctor"])
    assert typer_path.exit_code == 0
    assert fast.stdout == typer_path.output


def test_a_subcommand_imports_its_own_module_only() -> None:
    found = _imported("report", "--help")
    assert "reporter" in found["loaded"]
    assert "registry_core" not in found["loaded"]
    assert "runner_core.cli_run" not in found["runner_core"]
    found = _imported("registry", "--help")
    assert "registry_core" in found["loaded"]
    assert "reporter" not in found["loaded"]


@pytest.mark.parametrize(
    "argv", [("report", "--help"), ("report", "summary", "--help"), ("report", "compare", "--help")]
)
def test_report_help_imports_no_model_nor_renderer(argv: tuple[str, ...]) -> None:
    # The report group's options are declared from small modules; the models (pydantic),
    # the event models and rich are imported by a command when it runs.
    assert _imported(*argv)["loaded"] == ["normalized_events", "reporter"]


def test_report_command_still_runs_with_its_models(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(APIARY), "report", "summary", str(tmp_path / "nowhere")],
        capture_output=True,
        check=False,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "nowhere" in done.stderr


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_stated_help_is_the_help_the_command_declares(name: str) -> None:
    assert isinstance(get_command(app), ApiaryGroup)
    command = SUBCOMMANDS[name].load(name)
    assert command.help is not None
    assert " ".join(command.help.split()) == SUBCOMMANDS[name].help


def test_root_help_lists_every_command_in_order() -> None:
    done = subprocess.run([str(APIARY), "--help"], capture_output=True, text=True, check=True)
    listed = [
        line.split()[0]
        for line in done.stdout.split("Commands:")[1].splitlines()
        if line.startswith("  ") and not line.startswith("    ")
    ]
    assert listed == list(SUBCOMMANDS)


def test_unknown_command_is_a_usage_error() -> None:
    done = subprocess.run([str(APIARY), "nope"], check=False, capture_output=True, text=True)
    assert done.returncode == 2
    assert "No such command 'nope'" in done.stderr
    typo = subprocess.run([str(APIARY), "rnu"], check=False, capture_output=True, text=True)
    assert typo.returncode == 2
    assert "No such command 'rnu'. Did you mean 'run'?" in typo.stderr
    # `apiary --foo run`: an option the group does not know, not a command name.
    option = subprocess.run(
        [str(APIARY), "--foo", "run"], check=False, capture_output=True, text=True
    )
    assert option.returncode == 2
    assert "No such option: --foo" in option.stderr


def test_sandbox_passes_options_after_the_command_to_it(tmp_path: Path) -> None:
    logs = ["--log-dir", str(tmp_path)]
    done = subprocess.run(
        [str(APIARY), "sandbox", "--backend", "none", *logs, "sh", "-c", "exit 3", "--help"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 3
