"""`apiary sandbox`: run one command exactly as apiary runs a package's command.

A thin typer layer over `run_sandboxed`, registered by the `apiary` command line as

    app.command("sandbox", context_settings=SANDBOX_CONTEXT)(sandbox_command)

and also runnable alone as `python -m sandbox_runner [OPTIONS] -- CMD...`.

Everything after the first argument that is not an option (or after `--`) is the
command. Its exit status is passed on: 128+N when it died of signal N, 124 when a
timeout stopped it (as coreutils' `timeout` does), 2 when the sandbox could not be set up.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from sandbox_runner.errors import SandboxError
from sandbox_runner.result import SandboxResult
from sandbox_runner.run import run_sandboxed
from sandbox_runner.spec import (
    DEFAULT_OUTPUT_CAP,
    DEFAULT_PROCESSES,
    DEFAULT_SHM_BYTES,
    DEFAULT_TMP_BYTES,
    EnvPolicy,
    Isolation,
    Limits,
    SandboxSpec,
    parse_size,
)

SANDBOX_CONTEXT: dict[str, Any] = {"allow_interspersed_args": False}

EXIT_TIMEOUT = 124
EXIT_SETUP = 2
_SIGNAL_OFFSET = 128


def build_spec(
    command: list[str],
    *,
    backend: Literal["auto", "none", "bwrap"] = "auto",
    timeout: float | None = None,
    idle_timeout: float | None = None,
    memory: str | None = None,
    cpu: int | None = None,
    file_size: str | None = None,
    output_cap: str | None = None,
    processes: int | None = DEFAULT_PROCESSES,
    tmp_size: str | None = None,
    disk_limit: str | None = None,
    network: bool = False,
    cwd: Path = Path(),
    writable: list[Path] | None = None,
    readable: list[Path] | None = None,
    env: list[str] | None = None,
    allow_env: list[str] | None = None,
    deny_env: list[str] | None = None,
    log_dir: Path | None = None,
    separate_stderr: bool = False,
    tail_lines: int = 20,
) -> SandboxSpec:
    """The spec `apiary sandbox` runs, from its options (sizes as text: `256M`, `off`)."""
    if not command:
        raise SandboxError("no command given: apiary sandbox [OPTIONS] -- CMD [ARGS]...")
    environment = dict(os.environ)
    given: list[str] = []
    for item in env or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SandboxError(f"--env: expected NAME=VALUE, got {item!r}")
        environment[name] = value
        given.append(name)
    memory_off = memory is not None and memory.strip().lower() == "off"
    limits = Limits(
        timeout_s=timeout,
        idle_timeout_s=idle_timeout,
        memory_bytes=None if memory is None or memory_off else parse_size(memory, what="--memory"),
        memory_limit="off" if memory_off else "rlimit_as",
        cpu_s=cpu,
        fsize_bytes=None if file_size is None else parse_size(file_size, what="--file-size"),
        output_cap_bytes=(
            DEFAULT_OUTPUT_CAP
            if output_cap is None
            else parse_size(output_cap, what="--output-cap")
        ),
        processes=processes or None,
        tmp_bytes=DEFAULT_TMP_BYTES
        if tmp_size is None
        else parse_size(tmp_size, what="--tmp-size"),
        shm_bytes=DEFAULT_SHM_BYTES
        if tmp_size is None
        else parse_size(tmp_size, what="--tmp-size"),
        disk_bytes=None if disk_limit is None else parse_size(disk_limit, what="--disk-limit"),
    )
    logs = log_dir if log_dir is not None else Path(tempfile.mkdtemp(prefix="apiary-sandbox-"))
    return SandboxSpec(
        command=command,
        cwd=cwd,
        env=environment,
        limits=limits,
        isolation=Isolation(
            backend=backend,
            network=network,
            writable=tuple(writable or ()),
            readable=tuple(readable or ()),
        ),
        env_policy=EnvPolicy(allow=(*given, *(allow_env or ())), deny=tuple(deny_env or ())),
        stdout_log=logs / ("stdout.log" if separate_stderr else "output.log"),
        stderr_log=logs / "stderr.log" if separate_stderr else None,
        tail_lines=max(tail_lines, 0),
    )


def exit_status(result: SandboxResult) -> int:
    """The status `apiary sandbox` exits with for `result`."""
    if result.timed_out or result.idle_timed_out:
        return EXIT_TIMEOUT
    if result.signal is not None:
        return _SIGNAL_OFFSET + result.signal
    return result.exit_code


def sandbox_command(
    command: Annotated[list[str], typer.Argument(metavar="CMD", show_default=False)],
    backend: Annotated[
        str, typer.Option(help="Isolation: auto (bwrap if it works here), none, bwrap.")
    ] = "auto",
    timeout: Annotated[
        float | None, typer.Option(help="Wall-clock limit in seconds.", show_default=False)
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds without output.", show_default=False),
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(
            help="Address-space limit (256M, 2G), or off (ASan builds).", show_default=False
        ),
    ] = None,
    cpu: Annotated[
        int | None, typer.Option(help="CPU seconds per process.", show_default=False)
    ] = None,
    file_size: Annotated[
        str | None, typer.Option(help="Largest file a process may write.", show_default=False)
    ] = None,
    output_cap: Annotated[
        str | None, typer.Option(help="Bytes kept per output stream (default 10M).")
    ] = None,
    processes: Annotated[
        int, typer.Option(help="Processes alive at once in the whole tree (0: no limit).")
    ] = DEFAULT_PROCESSES,
    tmp_size: Annotated[
        str | None, typer.Option(help="Size of the private /tmp and /dev/shm (default 1G, 256M).")
    ] = None,
    disk_limit: Annotated[
        str | None,
        typer.Option(help="How much the writable paths' filesystem may fill.", show_default=False),
    ] = None,
    network: Annotated[str, typer.Option(help="on: host network; off: loopback only.")] = "off",
    cwd: Annotated[Path, typer.Option(help="Working directory (writable).")] = Path(),
    writable: Annotated[
        list[Path] | None, typer.Option(help="Another writable path (repeatable).")
    ] = None,
    readable: Annotated[
        list[Path] | None, typer.Option(help="Another path visible read-only (repeatable).")
    ] = None,
    env: Annotated[list[str] | None, typer.Option(help="Set NAME=VALUE (repeatable).")] = None,
    allow_env: Annotated[
        list[str] | None,
        typer.Option(
            help="Pass this variable (glob) besides the allowlist, even if it looks secret."
        ),
    ] = None,
    deny_env: Annotated[
        list[str] | None, typer.Option(help="Withhold more variables (glob).")
    ] = None,
    log_dir: Annotated[
        Path | None, typer.Option(help="Where the logs go (default: a new temp dir).")
    ] = None,
    separate_stderr: Annotated[
        bool, typer.Option(help="Log stderr apart from stdout (default: one log, as runs do).")
    ] = False,
    tail: Annotated[int, typer.Option(help="Output lines shown at the end.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run one command in the sandbox, exactly as apiary runs a package's command."""
    try:
        if backend not in ("auto", "none", "bwrap"):
            raise SandboxError(f"--backend: expected auto, none or bwrap, got {backend!r}")
        if network not in ("on", "off"):
            raise SandboxError(f"--network: expected on or off, got {network!r}")
        spec = build_spec(
            command,
            backend=backend,  # type: ignore[arg-type]  # checked just above
            timeout=timeout,
            idle_timeout=idle_timeout,
            memory=memory,
            cpu=cpu,
            file_size=file_size,
            output_cap=output_cap,
            processes=processes,
            tmp_size=tmp_size,
            disk_limit=disk_limit,
            network=network == "on",
            cwd=cwd,
            writable=writable,
            readable=readable,
            env=env,
            allow_env=allow_env,
            deny_env=deny_env,
            log_dir=log_dir,
            separate_stderr=separate_stderr,
            tail_lines=tail,
        )
        result = run_sandboxed(spec)
    except SandboxError as error:
        typer.echo(f"apiary sandbox: {error}", err=True)
        raise typer.Exit(EXIT_SETUP) from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _show(result)
    raise typer.Exit(exit_status(result))


def _show(result: SandboxResult) -> None:
    for line in result.stdout_tail:
        typer.echo(line)
    for line in result.stderr_tail:
        typer.echo(line, err=True)
    typer.echo(f"apiary sandbox: {result.describe()}", err=True)
    typer.echo(f"apiary sandbox: {result.backend_reason}", err=True)
    logs = [str(result.stdout_log)] + ([str(result.stderr_log)] if result.stderr_log else [])
    typer.echo(f"apiary sandbox: log: {', '.join(logs)}", err=True)
    if result.withheld_env:
        typer.echo(f"apiary sandbox: withheld: {', '.join(result.withheld_env)}", err=True)
