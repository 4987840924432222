"""`apiary enrich verify`: run entries through the real pipeline, fix what can be fixed,
run again (up to a bound), and record what happened in the entries.

Each round is one ordinary run (its own run directory, events and logs) of the packages
still worth a try, under every interpreter asked for. A package whose run ended in
config_error, import_error or install_error gets the fix `fixes.propose_fix` proposes and
goes into the next round; one that reached a verdict (pass or fail) is verified. A fail is
a verdict only because the classifier demands the runner's own summary of failed tests:
a suite that stopped before its tests is a config_error (`runner_core.outcomes`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from normalized_events import (
    DEFAULT_CONDITION,
    Condition,
    CrashKind,
    Outcome,
    PackageFinished,
    PackageStarted,
    read_events,
)
from normalized_events.files import read_tail
from normalized_events.layout import RunLayout
from packaging.utils import canonicalize_name
from registry_core import LoadedRegistry, PackageEntry, RegistryError, load_registry
from registry_core.select import check_conditions, matches_all, parse_conditions
from runner_core.enrich.collection_errors import ISOLATE_PURPOSE
from runner_core.enrich.errors import EnrichError
from runner_core.enrich.fixes import Fix, propose_fix
from runner_core.enrich.from_run import jit_only_hang
from runner_core.enrich.hangs import PROBE_PURPOSE, STOPPED, deselect, longer_limit, probe
from runner_core.enrich.verdicts import Attempt, Result, Verification, record
from runner_core.enrich.write import SDIST_FIELD, current_entry
from runner_core.interpreter import Interpreter, probe_interpreter
from runner_core.run import OnResult, RunPlan, execute, registry_info
from runner_core.selection import Selected, Selection
from runner_core.settings import BackendChoice, InstallerChoice, RunSettings, SourceChoice


@dataclass(frozen=True)
class VerifyOptions:
    """How to verify: where, with which interpreters, how hard to try."""

    registry_dir: Path
    results_dir: Path
    work_dir: Path
    pythons: tuple[str, ...]
    workers: int = 2
    max_attempts: int = 5
    source: SourceChoice = "auto"
    installer: InstallerChoice = "auto"
    sandbox: BackendChoice = "auto"
    timeout_s: float = 1800.0
    idle_timeout_s: float | None = 600.0
    run_prefix: str = ""
    write: bool = False
    where: tuple[str, ...] = ()
    # the per-test limit of the run that finds the tests that hang (see enrich.hangs)
    per_test_s: int = 30


OnRound = Callable[[int, list[str]], None]
# where a round's logs are and how to read them: run dir, interpreters, per-test limit,
# the run's own time limit
_RoundPlace = tuple[Path, Sequence[Interpreter], int, float]


def _conditions(interpreters: Sequence[Interpreter]) -> list[Condition]:
    if len(interpreters) == 1:
        return [Condition()]
    return [Condition(name=f"py{i.minor}", python=str(i.path)) for i in interpreters]


def _minor_of(condition: str, interpreters: Sequence[Interpreter]) -> str:
    if condition == DEFAULT_CONDITION:
        return interpreters[0].minor
    return condition.removeprefix("py")


def _log_text(run_dir: Path, package: str, condition: str, outcome: Outcome) -> str:
    step = {Outcome.INSTALL_ERROR: "install", Outcome.IMPORT_ERROR: "import_check"}.get(
        outcome, "test"
    )
    path = RunLayout(run_dir).step_log(package, condition, step)
    try:
        return read_tail(path, 400_000)[0].decode("utf-8", "replace")
    except OSError:
        return ""


def _round(
    options: VerifyOptions,
    interpreters: Sequence[Interpreter],
    entries: list[PackageEntry],
    run_id: str,
    on_result: OnResult | None = None,
) -> tuple[Path, dict[str, dict[str, Result]], bool]:
    """One ordinary run of ``entries``: its folder, its results, and whether it was
    interrupted."""
    loaded = load_registry(options.registry_dir)
    settings = RunSettings(
        run_id=run_id,
        results_dir=options.results_dir,
        work_dir=options.work_dir,
        registry_dir=options.registry_dir,
        target_python=str(interpreters[0].path),
        conditions=_conditions(interpreters),
        workers=options.workers,
        timeout_s=options.timeout_s,
        idle_timeout_s=options.idle_timeout_s,
        installer=options.installer,
        source=options.source,
        sandbox_backend=options.sandbox,
        condition_retries=0,
        crash_reruns=1,
    )
    plan = RunPlan(
        settings,
        Selection(run=[Selected(entry) for entry in entries]),
        registry_info(options.registry_dir, loaded),
    )
    report = execute(plan, on_result=on_result)
    return settings.run_dir, _results(settings, interpreters), report.interrupted


def _results(
    settings: RunSettings, interpreters: Sequence[Interpreter]
) -> dict[str, dict[str, Result]]:
    """Each package's result under each interpreter, from the round's events."""
    events = list(read_events(settings.layout.events).known())
    kinds = {
        (e.package, e.condition): e.source_kind for e in events if isinstance(e, PackageStarted)
    }
    found: dict[str, dict[str, Result]] = {}
    for event in events:
        if not isinstance(event, PackageFinished):
            continue
        minor = _minor_of(event.condition, interpreters)
        found.setdefault(event.package, {})[minor] = Result(
            outcome=event.outcome,
            reason=event.reason,
            version=event.package_version,
            test_s=event.durations.get("test"),
            source_kind=event.source_used or kinds.get((event.package, event.condition)),
            source_fallback=event.source_fallback,
            hung_test=event.crash.test_id if event.crash and event.outcome in STOPPED else None,
            pytest_version=_installed_version(event.installed, "pytest"),
            jit_only_hang=jit_only_hang(event),
            busy=event.outcome is Outcome.TIMEOUT
            and event.crash is not None
            and event.crash.kind == CrashKind.BUSY_HANG,
        )
    return found


def verify_targets(
    loaded: LoadedRegistry, names: Sequence[str], where: Sequence[str] = ()
) -> dict[str, PackageEntry]:
    """The entries verify works on: ``names`` narrowed by ``--where`` (the selection
    language of every command); ``--where`` alone picks from the whole registry."""
    conditions = parse_conditions(where)
    check_conditions(loaded, conditions)
    if names:
        found = {_registry_name(loaded, raw): _named_entry(loaded, raw) for raw in names}
    elif conditions:
        found = {entry.package: entry for entry in loaded.by_popularity()}
    else:
        raise EnrichError("verify: name at least one registry package (or give --where)")
    chosen = {name: entry for name, entry in found.items() if matches_all(entry, conditions)}
    if not chosen:
        raise EnrichError("verify: no registry package matches every --where")
    return chosen


def _registry_name(loaded: LoadedRegistry, raw: str) -> str:
    # Registry files are named by the canonical project name (zope.interface ->
    # zope-interface), as resolve writes them.
    return raw if raw in loaded.files else str(canonicalize_name(raw))


def _named_entry(loaded: LoadedRegistry, raw: str) -> PackageEntry:
    name = _registry_name(loaded, raw)
    entry = current_entry(loaded, name)
    if entry is None:
        raise EnrichError(f"verify: {name!r} is not in {loaded.packages_dir}")
    return entry


def verify(
    names: Sequence[str],
    options: VerifyOptions,
    on_round: OnRound | None = None,
    on_result: OnResult | None = None,
) -> list[Verification]:
    """Verify the named registry entries; with ``options.write``, record the results."""
    work = _work(names, options)
    interpreters = [probe_interpreter(p) for p in options.pythons]
    pending = [name for name in work if not _needs_git(work[name], options, interpreters)]
    prefix = options.run_prefix or "verify-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    changes: dict[str, str | None] = dict.fromkeys(pending)
    recorded: set[str] = set()
    for number in range(1, max(1, options.max_attempts) + 1):
        if not pending:
            break
        if on_round is not None:
            on_round(number, pending)
        run_dir, results, interrupted = _round(
            options,
            interpreters,
            [work[n].entry for n in pending],
            f"{prefix}-{number}",
            on_result,
        )
        if interrupted:
            _keep_finished(work, pending, results, changes, interpreters, options)
            raise KeyboardInterrupt
        last = number == options.max_attempts
        before = pending
        pending = _next_round(
            work,
            pending,
            results,
            changes,
            (run_dir, interpreters, options.per_test_s, options.timeout_s),
            last,
        )
        if options.write:
            # a package is recorded as soon as it is settled: a stopped verify keeps it
            settled = [n for n in before if n not in pending]
            for name in settled:
                record(options.registry_dir, work[name], interpreters)
            recorded.update(settled)
    if options.write:
        for name in (n for n in work if n not in recorded):
            record(options.registry_dir, work[name], interpreters)
    return [work[n] for n in work]


def _work(names: Sequence[str], options: VerifyOptions) -> dict[str, Verification]:
    if not options.pythons:
        raise EnrichError("verify: name at least one interpreter")
    try:
        loaded = load_registry(options.registry_dir)
        targets = verify_targets(loaded, names, options.where)
    except RegistryError as exc:
        raise EnrichError(str(exc)) from None
    return {name: Verification(name, entry, entry) for name, entry in targets.items()}


def _keep_finished(
    work: dict[str, Verification],
    pending: list[str],
    results: dict[str, dict[str, Result]],
    changes: dict[str, str | None],
    interpreters: Sequence[Interpreter],
    options: VerifyOptions,
) -> None:
    """A stopped round: the packages it verified under every interpreter are recorded
    (with --write), so that stopping verify never throws away a verdict."""
    for name in pending:
        got = results.get(name, {})
        if len(got) < len(interpreters) or not any(r.outcome.verified for r in got.values()):
            continue
        work[name].attempts.append(Attempt(changes.get(name), got))
        if options.write:
            record(options.registry_dir, work[name], interpreters)


def _next_round(
    work: dict[str, Verification],
    pending: list[str],
    results: dict[str, dict[str, Result]],
    changes: dict[str, str | None],
    where: _RoundPlace,
    last: bool,
) -> list[str]:
    """Record a round's results; the packages a fix sends into the next round (a verdict
    reached with the per-test limit that finds hanging tests is run once more without)."""
    next_round = []
    for name in pending:
        item = work[name]
        got = results.get(name, {})
        item.attempts.append(Attempt(changes.get(name), got))
        if last or (item.verified and not _probed(item) and not _fixable_left(got)):
            continue
        fix = _next_fix(item, got, *where)
        if fix is not None:
            item.tried.append(fix.description)
            item.entry = fix.apply(item.entry)
            changes[name] = fix.description
            next_round.append(name)
    return next_round


def _fixable_left(got: dict[str, Result]) -> bool:
    """An interpreter whose run stopped at what the entry's commands can fix: verify goes
    on for it while another already reached its verdict."""
    return any(r.outcome.fixable for r in got.values())


def _installed_version(installed: dict[str, str], name: str) -> str | None:
    return next((v for k, v in installed.items() if canonicalize_name(k) == name), None)


def _needs_git(
    item: Verification, options: VerifyOptions, interpreters: Sequence[Interpreter]
) -> bool:
    """An entry whose sdist is known to lack its suite is not run from the sdist: its
    result says it needs git (an sdist run would end in a bare config_error)."""
    if options.source != "sdist" or item.entry.field_value(SDIST_FIELD) is not False:
        return False
    reason = f"{SDIST_FIELD}: false, the suite needs its git repository (--source auto or git)"
    result = Result(Outcome.SOURCE_ERROR, reason, None, None, None)
    item.attempts.append(Attempt(None, {i.minor: result for i in interpreters}))
    return True


def _probed(item: Verification) -> bool:
    """The last round ran with the per-test limit that finds the tests that hang."""
    return bool(item.tried) and item.tried[-1].endswith(PROBE_PURPOSE)


def _next_fix(
    item: Verification,
    got: dict[str, Result],
    run_dir: Path,
    interpreters: Sequence[Interpreter],
    per_test_s: int,
    run_timeout_s: float,
) -> Fix | None:
    for interpreter in interpreters:
        result = got.get(interpreter.minor)
        if result is None:
            continue
        condition = DEFAULT_CONDITION if len(interpreters) == 1 else f"py{interpreter.minor}"
        log = _log_text(run_dir, item.name, condition, result.outcome)
        if _probed(item):
            fix = deselect(item.entry, log, result.hung_test)
        elif result.outcome.verified:
            continue
        elif result.outcome.fixable:
            fix = propose_fix(
                item.entry,
                result.outcome,
                result.reason,
                log,
                frozenset(item.tried),
                result.version,
                result.pytest_version,
            )
        elif not item.verified:
            fix = longer_limit(item.entry, run_timeout_s) if result.busy else None
            if fix is None or fix.description in item.tried:
                fix = probe(item.entry, result.outcome, per_test_s, result.hung_test)
        else:
            # a hang or crash beside another interpreter's verdict is a finding: kept
            continue
        if fix is not None and fix.description not in item.tried and not _hides(fix, item):
            return fix
    return None


def _hides(fix: Fix, item: Verification) -> bool:
    """Leaving out a module that stops at collection while another interpreter reached
    its verdict would hide what only one interpreter does: a finding, kept."""
    return fix.description.endswith(ISOLATE_PURPOSE) and item.verified
