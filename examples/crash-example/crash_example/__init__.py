"""A tiny package whose test suite really crashes the interpreter.

It reads memory at address 0 through ctypes, the way a miscompiled JIT trace or a
broken C extension would: the interpreter dies of SIGSEGV inside a test.
"""

import ctypes


def checksum(data: bytes) -> int:
    return sum(data) % 256


def read_null() -> bytes:
    return ctypes.string_at(0)
