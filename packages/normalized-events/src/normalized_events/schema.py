"""The JSON Schema of the event contract.

``python -m normalized_events.schema [OUT]`` prints it, or writes it to OUT.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from normalized_events.models import SCHEMA_VERSION, KnownEvent


def event_schema() -> dict[str, Any]:
    schema = TypeAdapter(KnownEvent).json_schema()
    schema["title"] = "apiary event"
    schema["$comment"] = f"apiary event contract, schema_version {SCHEMA_VERSION}"
    return schema


def render() -> str:
    return json.dumps(event_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        Path(args[0]).write_text(render(), encoding="utf-8")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
