"""`apiary bisect`: the first commit that brought a crash, in the package or in CPython.

`run_bisect(plan, tester)` tests `--bad` and `--good`, then halves the commits between
them until one is left: each step is tried up to `tries` times and is bad when any try
crashes in the crash's bucket (`verdict`), good when every try ran without crashing,
skipped when it could not tell; with skips the answer is the range the first bad commit
is in (`search`). Steps are events, so a bisection resumes where it stopped.
`PackageTester` walks the package's history on one interpreter, `CPythonTester` CPython's
with one package, building each commit incrementally.
"""

from runner_core.bisect.bisection import EVENTS, BisectPlan, run_bisect
from runner_core.bisect.errors import BisectError
from runner_core.bisect.search import Answer, answer, next_commit
from runner_core.bisect.testers import CPythonTester, PackageTester, Tester
from runner_core.bisect.verdict import StepResult, judge, try_step, untestable

__all__ = [
    "EVENTS",
    "Answer",
    "BisectError",
    "BisectPlan",
    "CPythonTester",
    "PackageTester",
    "StepResult",
    "Tester",
    "answer",
    "judge",
    "next_commit",
    "run_bisect",
    "try_step",
    "untestable",
]
