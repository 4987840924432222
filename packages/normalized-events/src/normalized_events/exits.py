"""The exit statuses of every apiary command, in one table.

``apiary sandbox`` (sandbox-runner) and ``apiary registry`` (registry-core) depend on no
package of ours and spell the statuses they use as constants of their own; a test checks
that those agree with this table (tests/test_exit_codes.py).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # the command worked and found something: --fail-on matched, not verified
    USER_ERROR = 2  # a bad option, file or setting, said in one line on stderr
    TIMEOUT = 124  # apiary sandbox: the command ran out of time (as timeout(1) says it)
    INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM; a run can be resumed
