"""Reading the package files the load cache has no answer for, on every CPU.

A cold load of thousands of files is the YAML reader and the checks, one file after the
other, in pure Python. With two CPUs or more and enough files, the files are shared out
among forked processes; each sends back what it found as the load cache's rows
(`cacherows.package_payload`), from which the loader restores the entries as it does on a
warm load, and the loading process reads the index meanwhile. When a reading process dies
(killed for memory, a signal), the loading process reads the files it left unanswered.
A process with threads never forks (a lock another thread holds would be copied held), nor
does a daemonic worker (it may not have children); both read the files themselves, as does
a load of few files, where starting processes costs more than it saves.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Literal

from registry_core.cacherows import package_payload
from registry_core.errors import FileRefused
from registry_core.fileio import read_capped
from registry_core.limits import MAX_PACKAGE_FILE_BYTES

# Fewer files than this are read in the loading process.
MIN_FILES_TO_SHARE = 400
_MAX_PROCESSES = 8

# ("payload", the file's cache row) or ("refused", why the file was not read)
Parsed = tuple[Literal["payload", "refused"], Any]


def parse_file(path: Path) -> Parsed:
    """One package file, read and checked."""
    try:
        raw = read_capped(path, MAX_PACKAGE_FILE_BYTES)
    except FileRefused as exc:
        return ("refused", exc.reason)
    from registry_core.checks import check_package_text  # the YAML reader: on a miss only

    return ("payload", package_payload(check_package_text(path, raw)))


@contextlib.contextmanager
def reading_files(paths: list[Path]) -> Iterator[Callable[[], list[Parsed]]]:
    """Start reading `paths`; the function given returns `parse_file` of each, in order.

    Until it is called the caller may do other work: where the files are shared among
    processes, they are read meanwhile (elsewhere the call reads them).
    """
    processes = processes_for(len(paths))
    if processes < 2:
        yield lambda: [parse_file(path) for path in paths]
        return
    import registry_core.checks  # noqa: F401 - once, before the fork, not in every process

    # Small chunks, so that no process is left reading its last one alone.
    chunk = max(1, len(paths) // (processes * 16))
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes, mp_context=fork) as pool:
        answers = pool.map(parse_file, paths, chunksize=chunk)
        yield lambda: _collect(answers, paths)


def _collect(answers: Iterator[Parsed], paths: list[Path]) -> list[Parsed]:
    """The answers in order; when a reading process died (killed: out of memory, a
    signal), the files it left unanswered are read here instead of waited for."""
    found: list[Parsed] = []
    try:
        found.extend(answers)
    except BrokenProcessPool:
        found.extend(parse_file(path) for path in paths[len(found) :])
    return found


def processes_for(files: int) -> int:
    """How many processes read `files` files: 1 means this one alone."""
    if files < MIN_FILES_TO_SHARE or not sys.platform.startswith("linux"):
        return 1  # forking is safe only where the platform forks whole processes
    if threading.active_count() > 1 or multiprocessing.current_process().daemon:
        return 1
    cpus = len(os.sched_getaffinity(0))
    return max(1, min(cpus, _MAX_PROCESSES, files // (MIN_FILES_TO_SHARE // 2)))
