"""CPython builds to hunt on: JIT, debug, sanitizer and free-threaded variants, cached.

`build_cpython(tarball, variant)` configures, builds and installs one variant of a
CPython source tarball into the user cache, keyed by the tarball's sha256, the variant's
configure flags and the compilers, so a second build of the same key is instant.
"""

from runner_core.pythons.build import BuildError, BuiltPython, build_cpython, user_cache
from runner_core.pythons.variants import VARIANTS, configure_flags

__all__ = [
    "VARIANTS",
    "BuildError",
    "BuiltPython",
    "build_cpython",
    "configure_flags",
    "user_cache",
]
