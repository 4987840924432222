"""CPython builds to hunt on: JIT, debug, sanitizer and free-threaded variants, cached.

`build_cpython(source, variant)` configures, builds and installs one variant of a CPython
source (a folder, a tarball, or a git checkout at a revision) into the user cache, keyed
by the source's identity, the configure flags and the compilers; a second build of the
same key is instant. `list_built`, `find_built` and `remove_built` manage the cache.
"""

from runner_core.pythons.build import build_cpython
from runner_core.pythons.errors import BuildError
from runner_core.pythons.installed import (
    BuiltPython,
    builds_root,
    find_built,
    list_built,
    remove_built,
    user_cache,
)
from runner_core.pythons.source import PythonSource, open_source
from runner_core.pythons.variants import VARIANTS, configure_flags, parse_variant

__all__ = [
    "VARIANTS",
    "BuildError",
    "BuiltPython",
    "PythonSource",
    "build_cpython",
    "builds_root",
    "configure_flags",
    "find_built",
    "list_built",
    "open_source",
    "parse_variant",
    "remove_built",
    "user_cache",
]
