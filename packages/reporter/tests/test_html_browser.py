"""The HTML report in a real browser (Debian's headless chromium): it renders, its script
runs, it fits a phone, and it makes no network request at all.

Every request chromium makes goes to a proxy on 127.0.0.1 that records it (loopback too,
with ``<-loopback>``), so a page that reached for a font, a script or an image would be
caught; a control page that does reach out proves the trap works. Chromium itself still
calls a few Google endpoints of its own (component updates, account checks) whatever the
flags; those hosts, and only those, are not counted as the page's requests.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reporter import Format, compare_runs, load_run, render_compare, render_summary, summarize

MakeRun = Callable[..., Any]

BROWSER = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None
)
pytestmark = [
    pytest.mark.skipif(
        BROWSER is None,
        reason="chromium is not installed (apt-get install chromium; scripts/bootstrap.sh does)",
    ),
    pytest.mark.xdist_group("chromium"),
]


# Hosts chromium contacts by itself on a fresh profile, with or without a page.
BROWSER_HOUSEKEEPING = {"update.googleapis.com", "accounts.google.com", "clients2.google.com"}


def host_of(request_line: str) -> str:
    """The host a proxied request goes to: ``CONNECT h:443`` or ``GET http://h/path``."""
    parts = request_line.split()
    target = parts[1] if len(parts) > 1 else ""
    target = target.split("://", 1)[-1]
    return target.split("/", 1)[0].rsplit(":", 1)[0]


class RecordingProxy:
    """Accepts every connection on 127.0.0.1 and records the request line it was sent."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
                except OSError:
                    first = "(connection without a request line)"
                self.requests.append(first or "(empty connection)")
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    def page_requests(self) -> list[str]:
        return [r for r in self.requests if host_of(r) not in BROWSER_HOUSEKEEPING]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    recorder = RecordingProxy()
    yield recorder
    recorder.close()


def chromium(
    page: Path, proxy: RecordingProxy, profile: Path, *args: str, fragment: str = ""
) -> str:
    assert BROWSER is not None
    command = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-component-extensions-with-background-pages",
        "--disable-default-apps",
        "--disable-features=NetworkTimeServiceQuerying,MediaRouter,OptimizationHints,Translate",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{proxy.port}",
        "--proxy-bypass-list=<-loopback>",
        "--virtual-time-budget=3000",
        *args,
        page.as_uri() + fragment,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def pages(make_run: MakeRun, t0: datetime, tmp_path: Path) -> dict[str, Path]:
    a = make_run("nightly-41", start=t0)
    b = make_run("nightly-42", start=t0 + timedelta(days=1), version="3.14.0a5")
    packages = [f"pkg{i:02d}" for i in range(24)]
    for index, name in enumerate(packages):
        a.package(name, "pass" if index % 7 else "fail", duration=3 + index * 7.5)
        outcome = ["pass", "pass", "crash", "fail", "pass", "timeout", "config_error", "skipped"][
            index % 8
        ]
        extra: dict[str, Any] = {}
        if outcome == "crash":
            extra = {"bucket": f"bucket{index % 3}", "reproducible": index % 2 == 0}
        if outcome == "config_error":
            extra = {"reason": "ModuleNotFoundError: No module named 'hypothesis'"}
        b.package(name, outcome, duration=2 + index * 11.0, **extra)
    a.finish()
    b.finish()
    before, after = load_run(a.path), load_run(b.path)
    out = tmp_path / "pages"
    out.mkdir()
    summary = out / "summary.html"
    summary.write_text(render_summary(summarize(after), Format.HTML))
    compare = out / "compare.html"
    compare.write_text(render_compare(compare_runs(before, after), Format.HTML))
    return {"summary": summary, "compare": compare}


def _keep(shot: Path) -> None:
    """Keep screenshots where APIARY_REPORT_SCREENSHOTS says (CI artifacts)."""
    keep = os.environ.get("APIARY_REPORT_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


def test_report_renders_sorts_and_makes_no_request(
    pages: dict[str, Path], proxy: RecordingProxy, tmp_path: Path
) -> None:
    page = pages["summary"]
    html = page.read_text()
    every = re.search(
        r'<table class="sortable" id="(t\d+)"><thead><tr><th>package',
        html[html.index("Every package") :],
    )
    assert every is not None
    table_id = every.group(1)
    # sort "Every package" by duration (4th column), longest first, through the fragment;
    # the same browser run takes the desktop screenshot
    shot = tmp_path / "summary-desktop.png"
    dom = chromium(
        page,
        proxy,
        tmp_path / "profile",
        "--dump-dom",
        f"--screenshot={shot}",
        "--window-size=1280,2600",
        fragment=f"#sort={table_id}:3:desc",
    )
    assert 'data-ready="1"' in dom  # the script ran to its end
    assert "<svg" in dom and "Crash buckets" in dom
    table = dom[dom.index(f'id="{table_id}"') :]
    names = re.findall(r"<tr><td>(pkg\d\d)</td>", table)
    assert len(names) == 24
    durations = [float(v) for v in re.findall(r'<td class="num" data-v="([\d.]+)"', table)[:24]]
    assert durations == sorted(durations, reverse=True) and durations[0] > durations[-1]
    assert 'aria-sort="descending"' in table
    assert png_size(shot) == (1280, 2600)
    _keep(shot)
    assert proxy.page_requests() == []


PHONE_PROBE = """<!doctype html><html><body style="margin:0">{frames}
<script>
Array.prototype.forEach.call(document.querySelectorAll("iframe"), function (frame) {{
  frame.addEventListener("load", function () {{
    var root = frame.contentDocument.documentElement;
    var fits = root.scrollWidth > root.clientWidth ? "overflows" : "fits";
    var facts = root.clientWidth + " " + fits;
    frame.setAttribute("data-layout", facts + " " + root.getAttribute("data-ready"));
  }});
}});
</script></body></html>
"""
FRAME = '<iframe src="{page}" style="width:390px;height:844px;border:0"></iframe>'


def test_report_fits_a_phone(pages: dict[str, Path], proxy: RecordingProxy, tmp_path: Path) -> None:
    # 390 px wide frames (a phone) around the reports read each report's own layout
    probe = tmp_path / "pages" / "probe.html"
    probe.write_text(
        PHONE_PROBE.format(frames="".join(FRAME.format(page=p.name) for p in pages.values()))
    )
    dom = chromium(
        probe, proxy, tmp_path / "profile", "--dump-dom", "--allow-file-access-from-files"
    )
    layouts = dict(re.findall(r'<iframe src="(\w+)\.html"[^>]*data-layout="([^"]*)"', dom))
    assert layouts == dict.fromkeys(pages, "390 fits 1"), layouts
    shot = tmp_path / "summary-phone.png"
    chromium(
        pages["summary"],
        proxy,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=390,2400",
    )
    assert png_size(shot) == (390, 2400)
    _keep(shot)
    assert proxy.page_requests() == []


def test_the_trap_catches_a_page_that_reaches_out(proxy: RecordingProxy, tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text(
        '<!doctype html><html><body><img src="http://fonts.example.test/x.png">'
        '<link rel="stylesheet" href="https://cdn.example.test/a.css"></body></html>'
    )
    chromium(page, proxy, tmp_path / "profile", "--dump-dom")
    hosts = {host_of(r) for r in proxy.page_requests()}
    assert {"fonts.example.test", "cdn.example.test"} <= hosts, proxy.requests


def test_the_reports_policy_blocks_injected_requests(
    pages: dict[str, Path], proxy: RecordingProxy, tmp_path: Path
) -> None:
    """Even markup slipped into the page (say, by a renderer bug) cannot fetch anything."""
    page = pages["summary"]
    injected = page.with_name("injected.html")
    injected.write_text(
        page.read_text().replace(
            "</main>",
            '<img src="http://leak.example.test/a.png"><script src="https://leak.example.test/'
            'b.js"></script><link rel="stylesheet" href="http://leak.example.test/c.css"></main>',
        )
    )
    dom = chromium(injected, proxy, tmp_path / "profile", "--dump-dom")
    assert 'data-ready="1"' in dom  # the page's own inline script still runs
    assert proxy.page_requests() == []
