"""The post-install import check: a command that imports what the package installed.

With ``import_name`` set in the entry, the check is ``import <import_name>``: the registry
says what to import. Without it, the package's name as a module (``python-dateutil`` ->
``python_dateutil``) is a guess, often wrong for namespace packages and renamed modules
(google-cloud-core is ``google.cloud``, google-api-python-client is ``googleapiclient``).
When the guess names no module at all, the check imports the top-level modules that the
installed distribution says it provides (its ``top_level.txt``, else its file list), and
prints which. Any other failure (a missing dependency, a crash at import) is the
package's, and is reported as it is.
"""

from __future__ import annotations

from registry_core import PackageEntry

# Runs in the package's venv, on any Python from 3.8: no newer syntax.
_SCRIPT = """
import importlib, os, sys
from importlib import metadata

name, dist = sys.argv[1], sys.argv[2]
not_modules = {"test", "tests", "testing", "docs", "doc", "examples", "benchmarks", "bin"}


def in_folder(folder):
    # what an editable install's .pth puts on sys.path provides its top-level names
    try:
        names = os.listdir(folder)
    except OSError:
        return set()
    tops = set()
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not name.endswith((".dist-info", ".egg-info")):
            tops.add(name)
        elif name.endswith(".py"):
            tops.add(name[:-3])
    return tops


def from_pth(pth):
    try:
        with open(pth, encoding="utf-8") as lines:
            folders = [l.strip() for l in lines if l.strip() and not l.startswith(("import", "#"))]
    except (OSError, UnicodeDecodeError):
        return set()
    tops = set()
    for folder in folders:
        tops |= in_folder(folder)
    return tops


def provided(found):
    try:
        listed = found.read_text("top_level.txt")
    except Exception:
        listed = None
    if listed:
        return set(listed.split())
    tops = set()
    for path in found.files or []:
        parts = path.parts
        if parts[0].endswith((".dist-info", ".data", ".egg-info")) or parts[0] == "..":
            continue
        if len(parts) > 1 and parts[-1].endswith(".py"):
            tops.add(parts[0])
        elif len(parts) == 1 and parts[0].endswith((".py", ".so", ".pyd")):
            tops.add(parts[0].split(".")[0])
        elif len(parts) == 1 and parts[0].endswith(".pth"):
            tops |= from_pth(path.locate())
    return tops


try:
    importlib.import_module(name)
except ModuleNotFoundError as missing:
    if missing.name != name:
        raise
    try:
        tops = provided(metadata.distribution(dist))
    except metadata.PackageNotFoundError:
        raise missing from None
    tops = sorted(t for t in tops if t.isidentifier() and t not in not_modules)
    public = [t for t in tops if not t.startswith("_")] or tops
    if not public:
        raise missing from None
    print("apiary: no module %s; %s provides %s" % (name, dist, ", ".join(public)))
    for top in public:
        importlib.import_module(top)
"""


def import_check_argv(python: str, entry: PackageEntry) -> tuple[str, ...]:
    """The command that checks ``entry``'s install in the venv whose interpreter is ``python``."""
    if entry.import_name:
        return (python, "-c", f"import {entry.import_name}")
    return (python, "-c", _SCRIPT, entry.effective_import_name, entry.package)
