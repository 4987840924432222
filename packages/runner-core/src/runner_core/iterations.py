"""`--iterations N`: a suite run up to N times, and what the runs say together.

Free-threading bugs are races: one run proves little. Each iteration is a full run of the
test command (logs `test.log`, `test-2.log`, ...; evidence folders alike), with per-test
outcomes from the JUnit XML pytest writes (`runner_core.junit`). The runs stop at the
first iteration that does not end in pass or fail (a crash, a hang, a timeout, an error
of the harness) unless `--all-iterations` asks for every one.

Together they give the package's verdict from the decisive iteration (the first crash,
else the first hang or timeout, else the first failure, else the first run) and the
tests that are flaky: passed in some iterations, failed or errored in others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from normalized_events import Outcome, Step

from runner_core.junit import JUNIT_NAME, TestResults, read_junit
from runner_core.outcomes import Verdict, clip
from runner_core.suite import Attempt

# Which iteration decides the package's outcome: the most serious, the first of its kind.
_SERIOUSNESS = {Outcome.CRASH: 3, Outcome.HANG: 2, Outcome.TIMEOUT: 2, Outcome.FAIL: 1}


@dataclass
class Iterations:
    """Every iteration's attempt and per-test results, first one first."""

    attempts: list[Attempt] = field(default_factory=list)
    results: list[TestResults] = field(default_factory=list)

    @property
    def decisive(self) -> Attempt:
        return max(
            self.attempts, key=lambda a: (_SERIOUSNESS.get(a.verdict.outcome, 0), -self._at(a))
        )

    def _at(self, attempt: Attempt) -> int:
        return next(i for i, a in enumerate(self.attempts) if a is attempt)

    @property
    def outcomes(self) -> list[Outcome]:
        return [a.verdict.outcome for a in self.attempts]

    def flaky_tests(self) -> list[str]:
        """Tests that passed in one iteration and failed (or errored) in another."""
        seen: dict[str, set[str]] = {}
        for result in self.results:
            for test_id, outcome in result.outcomes.items():
                seen.setdefault(test_id, set()).add(outcome)
        return sorted(
            t for t, found in seen.items() if "passed" in found and found & {"failed", "error"}
        )

    def problems(self) -> list[str]:
        return [f"iteration {i}: {r.problem}" for i, r in enumerate(self.results, 1) if r.problem]

    def verdict(self) -> Verdict:
        """The decisive iteration's verdict; a failure that not every iteration had says so."""
        chosen = self.decisive.verdict
        if len(self.attempts) < 2 or chosen.outcome is not Outcome.FAIL:
            return chosen
        failed = sum(1 for o in self.outcomes if o is Outcome.FAIL)
        if failed == len(self.attempts):
            return chosen
        flaky = self.flaky_tests()
        which = f": {', '.join(flaky[:3])}{' ...' if len(flaky) > 3 else ''}" if flaky else ""
        reason = f"flaky: failed in {failed} of {len(self.attempts)} iterations{which}"
        return chosen.model_copy(update={"reason": clip(reason)})


def run_iterations(
    attempt: Callable[..., Attempt], command: str, count: int, *, every: bool, junit: bool
) -> Iterations:
    """Run `command` up to `count` times (see the module doc); `every`: never stop early;
    `junit`: the runner writes JUnit XML (pytest), else there are no per-test outcomes."""
    found = Iterations()
    for number in range(1, count + 1):
        label = None if number == 1 else f"{Step.TEST.value}-{number}"
        done: Attempt = attempt(Step.TEST, command, None, label)
        found.attempts.append(done)
        found.results.append(_results(done) if junit else TestResults())
        if not every and not done.verdict.outcome.tested:
            break
    return found


def _results(done: Attempt) -> TestResults:
    if done.evidence_dir is None:
        return TestResults(problem="no evidence folder")
    return read_junit(done.evidence_dir / JUNIT_NAME)
