"""Crash signatures and buckets: the same crash site gives the same key, wherever it ran.

signature = kind + normalised headline + the top 3 relevant frames, joined by " | ":

    segfault | Segmentation fault | ctypes/__init__.py:string_at | core.py:_deref | core.py:_walk

- Frames are the crashing thread's Python frames, innermost first, as
  `basename:function` (`package/__init__.py` for `__init__.py` and `__main__.py`, whose
  basename alone says nothing). An ASan report uses its native frames instead, and a
  crash with no Python frame falls back to the native ones.
- Skipped: frames of the test harness (pytest, _pytest, pluggy and pytest plugins, xdist,
  runpy, unittest, importlib, apiary's own runner_core and sandbox_runner, its evidence
  agent in the test venv); native frames without a symbol, of the sanitizer runtime, of
  faulthandler and of libc (its string functions, its signal and abort path); an inlined
  native function counts once.
- Masked: hex addresses, PIDs, ASan thread ids, temp file names, line numbers; paths are
  cut to their basename, so a temp dir, a venv or a package's location never matters.

bucket = the first 12 hex digits of the signature's sha256.
"""

from __future__ import annotations

import hashlib
import re

from normalized_events import CrashInfo, CrashKind

from runner_core.crash.record import CFrame, CrashRecord, PythonFrame

TOP_FRAMES = 3
# How many thread sites a stopped suite's signature names.
HANG_FRAMES = 4
BUCKET_LENGTH = 12
_MAX_HEADLINE = 200

_HARNESS_FILES = re.compile(
    r"^<frozen (?:runpy|importlib\._bootstrap(?:_external)?|zipimport)>$"
    # the standard library's runners (an installed Python or a CPython checkout)
    r"|/(?:lib/python3\.\d+t?|Lib)/(?:unittest/|importlib/|runpy\.py$)"
    # test tools wherever they are installed
    r"|/(?:site|dist)-packages/(?:_?pytest|pluggy|xdist|execnet|_?py|pytest_\w+|unittest2"
    r"|nose2?|apiary|_apiary_evidence)(?:/|\.py$)"
    # apiary itself, installed or from a checkout
    r"|/(?:runner_core|sandbox_runner)/"
)
# The standard library's waiting machinery: a blocked thread is named by its caller.
_WAITING_MACHINERY = re.compile(
    r"/(?:lib/python3\.\d+t?|Lib)/(?:threading|queue|selectors|subprocess|socket|ssl"
    r"|multiprocessing/\w+|concurrent/futures/\w+|asyncio/\w+)\.py$"
)
_NATIVE_NOISE = re.compile(
    r"^(?:__interceptor_|___interceptor_|__asan_|__sanitizer_|__lsan_|__ubsan_|_Py_DumpStack"
    r"|faulthandler_|_Py_FatalError|fatal_error|__libc_start|_start$|__GI_|__restore_rt$"
    r"|__pthread_kill|pthread_kill$|raise$|abort$|gsignal$|__assert_fail)"
)
_SANITIZER_RUNTIME = re.compile(r"(?:^|/)lib(?:asan|clang_rt\.asan)[^/]*$")
# libc's own frames (string functions, raise, thread start): where a bad pointer was
# finally used, never where it came from.
_LIBC = re.compile(r"(?:^|/)(?:sysdeps|nptl|csu)/|(?:^|/)lib(?:c|pthread)\.so")

_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/[^\s/:'\"()\[\]<>,]+)+/(?P<base>[^\s/:'\"()\[\]<>,]+)")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
_PID = re.compile(r"==\d+==")
_ASAN_THREAD = re.compile(r"\bT\d+\b")
_FILE_LINE = re.compile(r"(?P<file>\.[A-Za-z0-9]+):\d+(?::\d+)?\b")
_LINE_WORD = re.compile(r"\bline \d+\b")
_TEMP_NAME = re.compile(r"\b(?:tmp|pytest-)[A-Za-z0-9_]{3,}\b")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Mask what varies between runs of the same crash: paths, addresses, ids, line numbers."""
    text = _PATH.sub(lambda m: m.group("base"), text)
    text = _HEX.sub("0x?", text)
    text = _PID.sub("==PID==", text)
    text = _ASAN_THREAD.sub("T?", text)
    text = _FILE_LINE.sub(lambda m: f"{m.group('file')}:N", text)
    text = _LINE_WORD.sub("line N", text)
    text = _TEMP_NAME.sub("tmp?", text)
    text = _SPACES.sub(" ", text).strip()
    return text[:_MAX_HEADLINE]


def is_harness_frame(frame: PythonFrame) -> bool:
    """A frame of the test runner or of apiary, not of the code under test."""
    return bool(_HARNESS_FILES.search(frame.file))


def _python_token(frame: PythonFrame) -> str:
    parts = frame.file.replace("\\", "/").rsplit("/", 2)
    name = parts[-1]
    if name in ("__init__.py", "__main__.py") and len(parts) > 1:
        name = f"{parts[-2]}/{name}"
    return normalise(f"{name}:{frame.function}")


def _native_token(frame: CFrame) -> str | None:
    if not frame.function or _NATIVE_NOISE.match(frame.function):
        return None
    if frame.binary and (_SANITIZER_RUNTIME.search(frame.binary) or _LIBC.search(frame.binary)):
        return None
    if frame.file and _LIBC.search(frame.file):
        return None
    where = frame.file or frame.binary
    if not where:
        return normalise(frame.function)
    return normalise(f"{where.rsplit('/', 1)[-1]}:{frame.function}")


def thread_sites(record: CrashRecord, count: int = HANG_FRAMES) -> list[str]:
    """A stopped suite's sites: each thread's innermost frame under test, sorted, unique.
    When no thread is in code under test (a loop inside pytest or pluggy), each thread's
    innermost frame of the harness: where it spins is the finding."""
    sites = _sites(record, harness=False) or _sites(record, harness=True)
    return sorted(sites)[:count]


def _sites(record: CrashRecord, harness: bool) -> set[str]:
    sites = set()
    for thread in record.waiting_threads:
        for frame in thread.frames:
            if (harness or not is_harness_frame(frame)) and not _WAITING_MACHINERY.search(
                frame.file
            ):
                sites.add(_python_token(frame))
                break
    return sites


def top_frames(record: CrashRecord, count: int = TOP_FRAMES) -> list[str]:
    """The relevant frames a signature is made of, innermost first (for a stopped
    suite, the sites where its threads were, see `thread_sites`)."""
    if record.kind.is_stop:
        return thread_sites(record, max(count, HANG_FRAMES))
    python = [_python_token(f) for f in record.python_frames if not is_harness_frame(f)]
    native: list[str] = []
    for token in (_native_token(f) for f in record.c_frames):
        # an inlined function appears once per inlining level with the same name
        if token is not None and (not native or native[-1] != token):
            native.append(token)
    chosen = native if record.kind is CrashKind.ASAN or not python else python
    return (chosen or python)[:count]


def signature(record: CrashRecord) -> str:
    """The crash's key: kind, normalised headline and top frames, joined by " | ".

    An ASan report adds the top frame of the stacks where the memory was freed and
    allocated (`free:file.c:func`, `alloc:...`): one bad access to memory freed at two
    different sites is two bugs.
    """
    kind = record.kind.value
    if record.kind is CrashKind.ASAN and record.asan_error:
        kind = f"{kind}:{record.asan_error}"
    return " | ".join([kind, normalise(record.headline), *top_frames(record), *_related(record)])


def _related(record: CrashRecord) -> list[str]:
    tokens = []
    for name in ("free", "alloc"):
        native = [t for t in map(_native_token, record.asan_stacks.get(name, [])) if t]
        if native:
            tokens.append(f"{name}:{native[0]}")
    return tokens


def bucket(record: CrashRecord) -> str:
    """A short stable hash of the signature: equal for the same site, whatever the path."""
    return hashlib.sha256(signature(record).encode("utf-8")).hexdigest()[:BUCKET_LENGTH]


def describe(record: CrashRecord) -> str:
    """One short line for a reason column: what died, and where.

    `Segmentation fault in ctypes/__init__.py:string_at, core.py:_deref`
    """
    if record.kind is CrashKind.ASAN and record.asan_error:
        what = f"AddressSanitizer: {record.asan_error}"
    elif record.kind.is_stop:
        what = f"{record.kind.value}, {record.headline}"
    else:
        what = _PATH.sub(lambda m: m.group("base"), record.headline)
    where = top_frames(record, 2)
    text = f"{what} in {', '.join(where)}" if where else what
    text = " ".join(text.split())
    return text if len(text) <= _MAX_HEADLINE else text[: _MAX_HEADLINE - 3] + "..."


def crash_info(
    record: CrashRecord,
    *,
    reproducible: bool | None = None,
    stderr_path: str | None = None,
    record_path: str | None = None,
    reproducer_path: str | None = None,
) -> CrashInfo:
    """The crash as the `package_finished` event carries it."""
    return CrashInfo(
        kind=record.kind.value,
        signal=record.signal,
        headline=record.headline,
        frames=top_frames(record),
        signature=signature(record),
        bucket=bucket(record),
        reproducible=reproducible,
        stderr_path=stderr_path,
        record_path=record_path,
        reproducer_path=reproducer_path,
    )
