"""A crash's evidence kept under any capture mode, and the test a crash killed.

`install_agent(venv)` puts the small in-interpreter agent (`_apiary_evidence`) into a test
venv; a step run with `evidence_env(...)` then leaves its evidence in a folder that
`gather(folder)` reads back: the test that was running when the process died, the text
pytest's capture took from fd 1/2, the sanitizers' reports, and the fatal errors of
interpreters the tests started (`discard_empty_children` removes those that wrote
none), and the tests pytest-timeout stopped. `one_test_command` turns the test into a
command that runs just that test.
"""

from runner_core.evidence.agent import AGENT_MODULE, STACKS_SIGNAL, STACKS_VARIABLE, install_agent
from runner_core.evidence.gather import (
    Evidence,
    RunningTest,
    SanitizerLog,
    StoppedTest,
    discard_empty_children,
    gather,
)
from runner_core.evidence.narrow import one_test_command

__all__ = [
    "AGENT_MODULE",
    "STACKS_SIGNAL",
    "STACKS_VARIABLE",
    "Evidence",
    "RunningTest",
    "SanitizerLog",
    "StoppedTest",
    "discard_empty_children",
    "gather",
    "install_agent",
    "one_test_command",
]
