"""Capture trimmed PyPI JSON documents for the resolve tests.

Run once by hand (it needs the network): ``python capture_pypi.py six greenlet ...``.
Each ``pypi/<name>.json`` keeps what resolve reads from https://pypi.org/pypi/<name>/json:
``info`` (name, version, project_urls, home_page, download_url) and the release's file
names and types (``urls``).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent / "pypi"
KEEP_INFO = ("name", "version", "project_urls", "home_page", "download_url")


def capture(name: str) -> None:
    with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as response:
        document = json.load(response)
    trimmed = {
        "info": {key: document["info"].get(key) for key in KEEP_INFO},
        "urls": [
            {"filename": item["filename"], "packagetype": item["packagetype"]}
            for item in document["urls"]
        ],
    }
    HERE.mkdir(exist_ok=True)
    target = HERE / f"{name}.json"
    target.write_text(json.dumps(trimmed, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{target}: {len(trimmed['urls'])} files")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        capture(arg)
