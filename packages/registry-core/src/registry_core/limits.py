"""How large a registry file may be: past these, the file is one problem, never a hang.

Real package files weigh a few hundred bytes and the largest index (laruche, ~5,000
packages) under a megabyte; the limits leave a wide margin and still keep a hostile file
(a 200 MB file of millions of keys) from costing more than a moment and some megabytes.
"""

from __future__ import annotations

MAX_PACKAGE_FILE_BYTES = 1 << 20
MAX_INDEX_FILE_BYTES = 16 << 20
# Top-level fields of a package file (the format has 18).
MAX_PACKAGE_FIELDS = 100
# Values (scalars, lists and mappings) of a document read with the full YAML parser.
MAX_YAML_VALUES = 500_000
# Lists and mappings inside each other in a document read with the full YAML parser.
# libyaml's composer recurses in C for each level: a 200 KB file of brackets overflows
# the C stack and kills the process, where Python would raise RecursionError.
MAX_YAML_DEPTH = 100


def size_text(size: int) -> str:
    return f"{size / (1 << 20):.3g} MiB" if size >= 1 << 20 else f"{size / 1024:.3g} KiB"
