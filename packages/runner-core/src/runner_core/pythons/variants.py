"""The configure flags of each build variant."""

from __future__ import annotations

VARIANTS: dict[str, tuple[str, ...]] = {
    "jit": ("--enable-experimental-jit",),
    "debug": ("--with-pydebug",),
    "asan": ("--with-address-sanitizer", "--without-pymalloc"),
    "ubsan": ("--with-undefined-behavior-sanitizer",),
    "ft": ("--disable-gil",),
    "tsan": ("--with-thread-sanitizer",),
}


def configure_flags(variant: str) -> tuple[str, ...]:
    """`jit+debug` -> the union of both variants' flags, in a stable order."""
    parts = variant.split("+")
    unknown = [p for p in parts if p not in VARIANTS]
    if unknown or not parts:
        known = ", ".join(VARIANTS)
        raise ValueError(f"unknown build variant {'+'.join(unknown)!r} (known: {known})")
    flags: list[str] = []
    for part in parts:
        flags += [f for f in VARIANTS[part] if f not in flags]
    return tuple(flags)
