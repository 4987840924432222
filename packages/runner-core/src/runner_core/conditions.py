"""`--condition NAME:python=PATH,env.K=V,...`: one configuration a package is tested under."""

from __future__ import annotations

import re

from normalized_events import Condition

from runner_core.errors import OptionError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def parse_condition(text: str) -> Condition:
    """``jit:env.PYTHON_JIT=1`` or ``new:python=/opt/py314/bin/python3,env.X=1``."""
    name, sep, body = text.partition(":")
    if not _NAME.match(name):
        raise OptionError(f"--condition {text!r}: name {name!r} must be letters, digits, . _ -")
    python: str | None = None
    env: dict[str, str] = {}
    for item in body.split(",") if sep and body else []:
        key, eq, value = item.partition("=")
        if not eq:
            raise OptionError(f"--condition {text!r}: {item!r} is not KEY=VALUE")
        if key == "python":
            python = value
        elif key.startswith("env.") and len(key) > 4:
            env[key[4:]] = value
        else:
            raise OptionError(
                f"--condition {text!r}: unknown setting {key!r} (use python=PATH or env.NAME=VALUE)"
            )
    return Condition(name=name, python=python, env=env)
