"""What a package index, an sdist or a local folder sends is untrusted: each hostile case
stops that package with one line, and nothing is written outside the work dir."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_index import (
    HostileIndex,
    bomb,
    endless,
    hostile_index,
    release_document,
    sdist,
    sha256,
    trickle,
    trickle_headers,
)
from runner_core.errors import SourceError
from runner_core.limits import SourceLimits
from runner_core.sources import SourceRequest, extract_archive, fetch_source

QUICK = SourceLimits(json_deadline_s=2.0, download_deadline_s=2.0)


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileIndex]:
    with hostile_index() as served:
        monkeypatch.setenv("APIARY_PYPI_URL", served.url)
        yield served


def _fetch(tmp_path: Path, name: str, limits: SourceLimits = QUICK) -> str:
    """The one-line error fetching ``name``'s sdist gives (the test fails if none)."""
    logged: list[str] = []
    with pytest.raises(SourceError) as caught:
        fetch_source(SourceRequest(name, kind="sdist"), tmp_path / "work", logged.append, limits)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_good_sdist_is_fetched(index: HostileIndex, tmp_path: Path) -> None:
    index.release("good", "1.0", "good-1.0.tar.gz", sdist("good", "1.0", {"good.py": "X = 1\n"}))
    fetched = fetch_source(SourceRequest("good", kind="sdist"), tmp_path / "work", print, QUICK)
    assert (fetched.path / "good.py").read_text() == "X = 1\n"
    assert (fetched.version, fetched.ref) == ("1.0", "good==1.0")


def test_a_file_name_climbing_out_of_the_work_dir_is_refused(
    index: HostileIndex, tmp_path: Path
) -> None:
    data = sdist("evil", "1.0", {"evil.py": ""})
    index.release("evil", "1.0", "../../../../x.tar.gz", data, url="/files/evil-1.0.tar.gz")
    index.routes["/files/evil-1.0.tar.gz"] = index.routes.pop("/files/../../../../x.tar.gz")
    message = _fetch(tmp_path, "evil")
    assert message == (
        "evil: the index gives the sdist file name '../../../../x.tar.gz',"
        " not a plain sdist file name"
    )
    assert not any("/files/" in r for r in index.requests)
    assert not list(tmp_path.rglob("x.tar.gz"))


@pytest.mark.parametrize(
    ("filename", "why"),
    [
        ("other-1.0.tar.gz", "which is not a file of this project"),
        (".evil-1.0.tar.gz", "not a plain sdist file name"),
        ("evil-1.0.tar.gz\n", "not a plain sdist file name"),
        ("evil-1.0.exe", "not a plain sdist file name"),
        (None, "not a plain sdist file name"),
    ],
)
def test_other_unusable_file_names(
    index: HostileIndex, tmp_path: Path, filename: str | None, why: str
) -> None:
    index.project("evil", release_document("evil", "1.0", filename, "/f", "0" * 64))  # type: ignore[arg-type]
    assert _fetch(tmp_path, "evil").endswith(why)


def test_a_version_naming_a_folder_elsewhere_never_touches_it(
    index: HostileIndex, tmp_path: Path
) -> None:
    victim = tmp_path / "some" / "dir"
    victim.mkdir(parents=True)
    (victim / "precious").write_text("keep me")
    data = sdist("evil", "1.0", {"evil.py": ""})
    index.release("evil", "../../../../some/dir", "evil-1.0.tar.gz", data)
    for _ in range(2):
        message = _fetch(tmp_path, "evil")
        assert message == (
            "evil: the index gives the version '../../../../some/dir', not a PEP 440 version"
        )
    assert (victim / "precious").read_text() == "keep me"
    assert not any("/files/" in r for r in index.requests)


def test_a_version_is_used_in_its_normal_form(index: HostileIndex, tmp_path: Path) -> None:
    data = sdist("odd", "1.0", {"odd.py": ""})
    index.release("odd", " 1.0-1\n", "odd-1.0.tar.gz", data)
    fetched = fetch_source(SourceRequest("odd", kind="sdist"), tmp_path / "work", print, QUICK)
    assert (fetched.version, fetched.ref) == ("1.0.post1", "odd==1.0.post1")
    assert fetched.path.parent == tmp_path / "work" / "sdist" / "odd" / "1.0.post1"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x.tar.gz", "data:,x"])
def test_a_url_that_is_not_http_is_never_followed(
    index: HostileIndex, tmp_path: Path, url: str
) -> None:
    index.project("evil", release_document("evil", "1.0", "evil-1.0.tar.gz", url, "0" * 64))
    message = _fetch(tmp_path, "evil")
    assert message == f"evil: the index gives the URL {url!r}: not an http:// or https:// URL"
    assert not (tmp_path / "work" / "downloads").exists()


def test_a_redirect_to_a_file_url_is_not_followed(index: HostileIndex, tmp_path: Path) -> None:
    secret = tmp_path / "secret.tar.gz"
    secret.write_bytes(sdist("evil", "1.0", {"evil.py": ""}))

    def redirect(handler: object) -> None:
        handler.send_response(302)  # type: ignore[attr-defined]
        handler.send_header("Location", secret.as_uri())  # type: ignore[attr-defined]
        handler.send_header("Content-Length", "0")  # type: ignore[attr-defined]
        handler.end_headers()  # type: ignore[attr-defined]

    index.project(
        "evil",
        release_document("evil", "1.0", "evil-1.0.tar.gz", "/go", sha256(secret.read_bytes())),
    )
    index.routes["/go"] = redirect
    message = _fetch(tmp_path, "evil")
    assert message.startswith("download of evil-1.0.tar.gz failed: ")
    assert not list((tmp_path / "work").rglob("evil.py"))


@pytest.mark.parametrize("route", [trickle(), trickle_headers()])
def test_a_json_answer_trickling_forever_ends_at_the_deadline(
    index: HostileIndex, tmp_path: Path, route: object
) -> None:
    index.routes["/pypi/slow/json"] = route  # type: ignore[assignment]
    message = _fetch(tmp_path, "slow")
    assert message.startswith(
        f"slow: PyPI at {index.url}/pypi/slow/json: no complete answer within 2 s"
    )


def test_a_download_trickling_forever_ends_at_the_deadline(
    index: HostileIndex, tmp_path: Path
) -> None:
    index.project("slow", release_document("slow", "1.0", "slow-1.0.tar.gz", "/f", "0" * 64))
    index.routes["/f"] = trickle()
    message = _fetch(tmp_path, "slow")
    assert message.startswith(f"download of slow-1.0.tar.gz failed: {index.url}/f: no complete")
    assert [p.name for p in (tmp_path / "work" / "downloads").iterdir()] == []


@pytest.mark.parametrize("declared", [None, 3_000_000_000])
def test_a_3_gb_json_answer_stops_at_the_size_limit(
    index: HostileIndex, tmp_path: Path, declared: int | None
) -> None:
    index.routes["/pypi/huge/json"] = endless(declared)
    message = _fetch(tmp_path, "huge", SourceLimits())
    assert message == (
        f"huge: PyPI at {index.url}/pypi/huge/json: the answer is larger than the 64 MiB limit"
    )


def test_a_download_over_the_size_limit_stops(index: HostileIndex, tmp_path: Path) -> None:
    index.project("huge", release_document("huge", "1.0", "huge-1.0.tar.gz", "/f", "0" * 64))
    index.routes["/f"] = endless()
    limits = SourceLimits(download_bytes=10 << 20)
    message = _fetch(tmp_path, "huge", limits)
    assert message == (
        f"download of huge-1.0.tar.gz failed: {index.url}/f: the answer is larger than"
        " the 10 MiB limit"
    )


def test_a_decompression_bomb_stops_before_filling_the_disk(
    index: HostileIndex, tmp_path: Path
) -> None:
    # 320 files of 64 MiB: 20 GiB from a 21 MB archive.
    index.release("bomb", "1.0", "bomb-1.0.tar.gz", bomb(320, 64 << 20))
    limits = SourceLimits(unpacked_bytes=256 << 20)
    message = _fetch(tmp_path, "bomb", limits)
    assert message == (
        "bomb-1.0.tar.gz: more than 256 MiB unpacked (the unpacked-size limit): refused"
    )
    written = [p for p in (tmp_path / "work" / "sdist").rglob("*") if p.is_file()]
    assert written == []


def test_an_archive_of_too_many_files_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "many-1.0.tar.gz"
    archive.write_bytes(sdist("many", "1.0", {f"f{i}.py": "" for i in range(50)}))
    with pytest.raises(SourceError) as caught:
        extract_archive(archive, tmp_path / "out", SourceLimits(unpacked_files=20))
    assert str(caught.value) == (
        "many-1.0.tar.gz: more than 20 files (the unpacked-files limit): refused"
    )
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.py"))


def test_a_local_folder_is_copied_without_leaving_it(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "mod.py").write_text("X = 1\n")
    (folder / "usr").symlink_to("/usr")
    (folder / "outside.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "secret.txt").write_text("secret")
    (folder / "alias.py").symlink_to(folder / "pkg" / "mod.py")
    (folder / "pkgs").symlink_to("pkg")
    logged: list[str] = []
    fetched = fetch_source(
        SourceRequest("project", repo=str(folder)), tmp_path / "work", logged.append
    )
    copy = fetched.path
    assert sorted(os.listdir(copy)) == ["alias.py", "pkg", "pkgs"]
    assert os.readlink(copy / "alias.py") == "pkg/mod.py"
    assert (copy / "pkgs" / "mod.py").read_text() == "X = 1\n"
    assert "not copied: usr -> /usr (a link out of" in "\n".join(logged)
    again = fetch_source(SourceRequest("project", repo=str(folder)), tmp_path / "work", print)
    assert again.revision == fetched.revision


def test_a_local_folder_over_the_budget_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    for i in range(30):
        (folder / f"f{i}.py").write_text("")
    with pytest.raises(SourceError, match=r"more than 10 files \(the unpacked-files limit\)"):
        fetch_source(
            SourceRequest("project", repo=str(folder)),
            tmp_path / "work",
            print,
            SourceLimits(unpacked_files=10),
        )


def test_a_corrupt_extraction_marker_is_ignored(index: HostileIndex, tmp_path: Path) -> None:
    index.release("good", "1.0", "good-1.0.tar.gz", sdist("good", "1.0", {"good.py": ""}))
    first = fetch_source(SourceRequest("good", kind="sdist"), tmp_path / "work", print, QUICK)
    marker = first.path.parent / ".apiary-source.json"
    marker.write_text(json.dumps({"sha256": json.loads(marker.read_text())["sha256"], "tree": "/"}))
    again = fetch_source(SourceRequest("good", kind="sdist"), tmp_path / "work", print, QUICK)
    assert again.path == first.path
    marker.write_text("[" * 100_000)
    assert fetch_source(SourceRequest("good", kind="sdist"), tmp_path / "work", print).path == (
        first.path
    )
