"""ThreadSanitizer reports: real ones from programs built here, and CPython's layout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from runner_core.aslr import aslr_can_be_disabled, without_aslr
from runner_core.commands import CommandStep
from runner_core.crash.tsan import parse_tsan
from runner_core.sanitizers import SanitizerPolicy, read_options, sanitizer_env

RACE = """
#include <pthread.h>
#include <stdio.h>
int shared;
static void *bump(void *arg) { (void)arg; for (int i = 0; i < 1000; i++) shared++; return NULL; }
int main(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, bump, NULL);
    pthread_create(&b, NULL, bump, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%d\\n", shared);
    return 0;
}
"""

LOCK_ORDER = """
#include <pthread.h>
pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER, second = PTHREAD_MUTEX_INITIALIZER;
void take_first_then_second(void) {
    pthread_mutex_lock(&first); pthread_mutex_lock(&second);
    pthread_mutex_unlock(&second); pthread_mutex_unlock(&first);
}
void take_second_then_first(void) {
    pthread_mutex_lock(&second); pthread_mutex_lock(&first);
    pthread_mutex_unlock(&first); pthread_mutex_unlock(&second);
}
int main(void) { take_first_then_second(); take_second_then_first(); return 0; }
"""

# The layout of a report from CPython's own TSan builds (clang, runtime linked into the
# binary: columns, BuildId, interceptor frames inside `python`).
CPYTHON_LAYOUT = (Path(__file__).parent / "data" / "tsan" / "cpython-layout.txt").read_text()


def _build(tmp_path: Path, name: str, source: str) -> Path:
    (tmp_path / f"{name}.c").write_text(source)
    binary = tmp_path / name
    subprocess.run(
        ["gcc", "-g", "-O1", "-fsanitize=thread", "-o", str(binary), str(tmp_path / f"{name}.c")],
        check=True,
    )
    return binary


def _run(binary: Path, options: str) -> subprocess.CompletedProcess[str]:
    argv = [str(binary)]
    if aslr_can_be_disabled():
        [step] = without_aslr([CommandStep(tuple(argv))])
        argv = list(step.argv)
    env = {**os.environ, "TSAN_OPTIONS": options}
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def test_a_real_data_race_from_its_log_path_file(tmp_path: Path) -> None:
    binary = _build(tmp_path, "race", RACE)
    buckets = set()
    for attempt in range(2):
        logs = tmp_path / f"logs{attempt}"
        logs.mkdir()
        done = _run(binary, f"log_path={logs}/tsan:exitcode=0")
        assert done.returncode == 0, done.stderr
        [log] = logs.iterdir()
        assert log.name.startswith("tsan.")  # TSan adds the PID
        found = parse_tsan(log.read_text(), log.name)
        assert found.problems == []
        [report] = found.reports
        assert report.kind == "data-race"
        assert [f.token for f in report.frames] == ["race.c:bump", "race.c:bump"]
        assert report.modules == ["race"]
        assert report.signature == "tsan:data-race | race.c:bump | race.c:bump"
        buckets.add(report.bucket)
    assert len(buckets) == 1  # another PID, other addresses: the same bucket


def test_a_real_lock_order_inversion_on_stderr(tmp_path: Path) -> None:
    binary = _build(tmp_path, "locks", LOCK_ORDER)
    done = _run(binary, "exitcode=0")
    [report] = parse_tsan(done.stderr).reports
    assert report.kind == "lock-order-inversion"
    # pthread_mutex_lock is TSan's interceptor: the frames are who took the locks
    assert sorted(f.function for f in report.frames) == [
        "take_first_then_second",
        "take_second_then_first",
    ]


def test_the_cpython_layout() -> None:
    found = parse_tsan(CPYTHON_LAYOUT * 3)
    assert found.problems == []
    assert len(found.reports) == 3 and len({r.bucket for r in found.reports}) == 1
    report = found.reports[0]
    assert report.kind == "data-race"
    assert report.signature == (
        "tsan:data-race | dictobject.c:_PyObject_SetManagedDict"
        " | pyatomic_gcc.h:_Py_atomic_load_ptr_acquire"
    )
    assert report.modules == ["python"]


def test_two_accesses_in_either_order_are_one_bucket() -> None:
    swapped = CPYTHON_LAYOUT.replace("T3:", "T9:")
    lines = swapped.splitlines()
    write, read = lines[2:6], lines[7:10]
    reordered = "\n".join([*lines[:2], *read, "", *write, *lines[10:]])
    assert parse_tsan(reordered).reports[0].bucket == parse_tsan(CPYTHON_LAYOUT).reports[0].bucket


def test_a_report_cut_off_mid_way_is_kept_and_named() -> None:
    cut = "\n".join(CPYTHON_LAYOUT.splitlines()[:5])
    found = parse_tsan(CPYTHON_LAYOUT + cut, "tsan.4242")
    assert len(found.reports) == 2
    assert found.problems == [
        "tsan.4242: a ThreadSanitizer report (data-race) is cut short: no SUMMARY line"
    ]


def test_tsan_options_merge_with_apiary_defaults(tmp_path: Path) -> None:
    rules = tmp_path / "tsan.supp"
    rules.write_text("race:bump\n")
    policy = SanitizerPolicy(tsan=True, tsan_suppressions=rules)
    user = {"TSAN_OPTIONS": "history_size=7:exitcode=3"}
    got = sanitizer_env([user], policy, tmp_path).values["TSAN_OPTIONS"]
    options, problems = read_options("TSAN_OPTIONS", got)
    assert problems == []
    assert options == {
        "history_size": "7",
        "exitcode": "3",  # the user's value wins
        "halt_on_error": "0",
        "suppressions": str(rules),
        "log_path": str(tmp_path / "tsan"),
    }
    # not a TSan build: only the log path
    plain = sanitizer_env([{}], SanitizerPolicy(), tmp_path).values["TSAN_OPTIONS"]
    assert plain == f"log_path={tmp_path / 'tsan'}"


def test_a_suppressions_file_silences_the_race(tmp_path: Path) -> None:
    binary = _build(tmp_path, "race", RACE)
    rules = tmp_path / "tsan.supp"
    rules.write_text("race:bump\n")
    done = _run(binary, f"exitcode=0:suppressions={rules}")
    assert parse_tsan(done.stderr).reports == []


@pytest.mark.skipif(not aslr_can_be_disabled(), reason="setarch -R is refused here")
def test_setarch_turns_address_randomisation_off() -> None:
    [argv_step, shell_step] = without_aslr(
        [
            CommandStep(("cat", "/proc/self/personality")),
            CommandStep(shell="cat /proc/self/personality"),
        ]
    )
    assert shell_step.shell is None
    for step in (argv_step, shell_step):
        done = subprocess.run(step.argv, capture_output=True, text=True, check=True)
        assert int(done.stdout, 16) & 0x0040000  # ADDR_NO_RANDOMIZE
