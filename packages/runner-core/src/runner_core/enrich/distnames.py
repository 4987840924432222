"""Import names, pytest options, fixtures and markers mapped to the distributions that
provide them.

An import name is usually its distribution's name (``attrs`` aside), so only the names
that differ are listed; anything else maps to itself with ``_`` read as ``-``.
"""

from __future__ import annotations

import re
import sys

from packaging.utils import canonicalize_name

# Import name (top level, or two levels for namespace packages) -> distribution.
IMPORT_TO_DIST: dict[str, str] = {
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "cairo": "pycairo",
    "Crypto": "pycryptodome",
    "Cryptodome": "pycryptodomex",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "dns": "dnspython",
    "docx": "python-docx",
    "dotenv": "python-dotenv",
    "email_validator": "email-validator",
    "fitz": "pymupdf",
    "gi": "PyGObject",
    "git": "GitPython",
    "google.api": "googleapis-common-protos",
    "google.api_core": "google-api-core",
    "google.auth": "google-auth",
    # google-cloud-core's own modules of the `google.cloud` namespace
    "google.cloud": "google-cloud-core",
    "google.cloud.client": "google-cloud-core",
    "google.cloud.environment_vars": "google-cloud-core",
    "google.cloud.exceptions": "google-cloud-core",
    "google.cloud.obsolete": "google-cloud-core",
    "google.cloud.operation": "google-cloud-core",
    "google.cloud.version": "google-cloud-core",
    "google.iam": "grpc-google-iam-v1",
    "google.logging": "googleapis-common-protos",
    "google.longrunning": "googleapis-common-protos",
    "google.oauth2": "google-auth",
    "google.rpc": "googleapis-common-protos",
    "google.type": "googleapis-common-protos",
    "google.protobuf": "protobuf",
    # OpenTelemetry's API modules, its suites' helpers and its semantic conventions
    "opentelemetry._events": "opentelemetry-api",
    "opentelemetry._logs": "opentelemetry-api",
    "opentelemetry.attributes": "opentelemetry-api",
    "opentelemetry.baggage": "opentelemetry-api",
    "opentelemetry.context": "opentelemetry-api",
    "opentelemetry.environment_variables": "opentelemetry-api",
    "opentelemetry.metrics": "opentelemetry-api",
    "opentelemetry.propagate": "opentelemetry-api",
    "opentelemetry.propagators": "opentelemetry-api",
    "opentelemetry.trace": "opentelemetry-api",
    "opentelemetry.util": "opentelemetry-api",
    "opentelemetry.semconv": "opentelemetry-semantic-conventions",
    # modules of opentelemetry-instrumentation itself, beside the instrumentations
    "opentelemetry.instrumentation.auto_instrumentation": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.bootstrap": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.dependencies": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.distro": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.environment_variables": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.instrumentor": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.propagators": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.sqlcommenter_utils": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.utils": "opentelemetry-instrumentation",
    "opentelemetry.instrumentation.version": "opentelemetry-instrumentation",
    "opentelemetry.test": "opentelemetry-test-utils",
    # gRPC's modules: the `grpc` project on PyPI refuses to build and names grpcio
    "grpc": "grpcio",
    "grpc_health": "grpcio-health-checking",
    "grpc_reflection": "grpcio-reflection",
    "grpc_status": "grpcio-status",
    "grpc_tools": "grpcio-tools",
    "hamcrest": "PyHamcrest",
    "jose": "python-jose",
    "jwt": "PyJWT",
    "lzo": "python-lzo",
    "magic": "python-magic",
    "markdown_it": "markdown-it-py",
    "mdit_py_plugins": "mdit-py-plugins",
    "multipart": "python-multipart",
    "nacl": "PyNaCl",
    "OpenSSL": "pyOpenSSL",
    "PIL": "Pillow",
    "railroad": "railroad-diagrams",
    "pkg_resources": "setuptools",
    "playwright": "playwright",
    "process_tests": "process-tests",
    "proto": "proto-plus",
    "psycopg2": "psycopg2-binary",
    "pythonjsonlogger": "python-json-logger",
    "pyximport": "Cython",
    "ruamel.yaml": "ruamel.yaml",
    "serial": "pyserial",
    # pymongo's `bson` (the `bson` project on PyPI is another codec, without CodecOptions)
    "bson": "pymongo",
    "gridfs": "pymongo",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "slugify": "python-slugify",
    "socks": "PySocks",
    "sortedcontainers": "sortedcontainers",
    "stdnum": "python-stdnum",
    "text_unidecode": "text-unidecode",
    "tomli_w": "tomli-w",
    "usb": "pyusb",
    "win32api": "pywin32",
    "yaml": "PyYAML",
    "zmq": "pyzmq",
    "_pytest": "pytest",
    "pytest": "pytest",
    "py": "py",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_benchmark": "pytest-benchmark",
    "pytest_cov": "pytest-cov",
    "pytest_httpserver": "pytest-httpserver",
    "pytest_mock": "pytest-mock",
    "pytest_regressions": "pytest-regressions",
    "pytest_subtests": "pytest-subtests",
    "pytest_timeout": "pytest-timeout",
    "xdist": "pytest-xdist",
    "trustme": "trustme",
    "typing_extensions": "typing-extensions",
}

# Modules their distribution dropped: the requirement of the last releases that had them.
REMOVED_MODULES: dict[str, str] = {"pkg_resources": "setuptools<82"}

NAMESPACE_ROOTS = frozenset(
    {"backports", "google", "jaraco", "opentelemetry", "ruamel", "zope", "sphinxcontrib"}
)
# Namespaces inside those, named by three levels (`google.cloud.storage`).
NESTED_NAMESPACES = frozenset(
    {"google.cloud", "opentelemetry.exporter", "opentelemetry.instrumentation"}
)
# Namespace modules whose distribution follows another convention: Google's generated
# API clients (`google.pubsub_v1`, `google.bigtable_admin_v2`) come with google-cloud-*.
# OpenTelemetry's are opentelemetry-<name> (`opentelemetry.sdk` comes with opentelemetry-sdk).
_NAMESPACE_CONVENTIONS = (
    (re.compile(r"^google\.(?:cloud\.)?(?P<name>\w+?)_v\d+\w*$"), "google-cloud-{name}"),
    (re.compile(r"^opentelemetry\.(?P<name>[a-z]\w*)$"), "opentelemetry-{name}"),
)

# Command-line options (in addopts or a test command) -> the plugin that defines them.
OPTION_TO_DIST: dict[str, str] = {
    "--cov": "pytest-cov",
    "--cov-report": "pytest-cov",
    "--cov-config": "pytest-cov",
    "--cov-branch": "pytest-cov",
    "--no-cov": "pytest-cov",
    "--timeout": "pytest-timeout",
    "--benchmark-skip": "pytest-benchmark",
    "--benchmark-disable": "pytest-benchmark",
    "--benchmark-autosave": "pytest-benchmark",
    "--asyncio-mode": "pytest-asyncio",
    "--reruns": "pytest-rerunfailures",
    "--no-flaky-report": "flaky",
    "--force-flaky": "flaky",
    "--randomly-seed": "pytest-randomly",
    "--randomly-dont-reorganize": "pytest-randomly",
    "--html": "pytest-html",
    "--forked": "pytest-forked",
    "--mypy": "pytest-mypy",
    "--flake8": "pytest-flake8",
    "--mpl": "pytest-mpl",
    "--memray": "pytest-memray",
    "--codspeed": "pytest-codspeed",
    "--snapshot-update": "syrupy",
    "--force-regen": "pytest-regressions",
    "--hypothesis-profile": "hypothesis",
    "--hypothesis-show-statistics": "hypothesis",
    "--doctest-plus": "pytest-doctestplus",
    "--remote-data": "pytest-remotedata",
    "--ds": "pytest-django",
    "--reuse-db": "pytest-django",
    "--run-slow": "",
    "-n": "pytest-xdist",
    "--numprocesses": "pytest-xdist",
    "--dist": "pytest-xdist",
    "--maxprocesses": "pytest-xdist",
}

# `-p NAME` plugin module names -> distribution.
# Plugins pytest carries itself (`_pytest.config.default_plugins` of pytest 7 to 9, with
# the older `nose`, `python_path` and `freeze_support`, and `pytester`): `-p warnings`
# names no distribution.
PYTEST_BUILTIN_PLUGINS = frozenset(
    {
        "mark",
        "main",
        "runner",
        "fixtures",
        "helpconfig",
        "python",
        "terminal",
        "debugging",
        "unittest",
        "capture",
        "skipping",
        "legacypath",
        "tmpdir",
        "monkeypatch",
        "recwarn",
        "pastebin",
        "assertion",
        "junitxml",
        "doctest",
        "cacheprovider",
        "setuponly",
        "setupplan",
        "stepwise",
        "unraisableexception",
        "threadexception",
        "warnings",
        "logging",
        "reports",
        "faulthandler",
        "subtests",
        "nose",
        "python_path",
        "freeze_support",
        "pytester",
        "pytester_assertions",
    }
)
PLUGIN_TO_DIST: dict[str, str] = {
    "pytest_cov": "pytest-cov",
    "xdist": "pytest-xdist",
    "instafail": "pytest-instafail",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_mock": "pytest-mock",
    "anyio": "anyio",
    "trio": "pytest-trio",
    "pytest_timeout": "pytest-timeout",
    "pytest_randomly": "pytest-randomly",
}

# ini keys a plugin adds (an unknown key is an error under strict config).
INI_KEY_TO_DIST: dict[str, str] = {
    "asyncio_mode": "pytest-asyncio",
    "asyncio_default_fixture_loop_scope": "pytest-asyncio",
    "timeout": "pytest-timeout",
    "timeout_method": "pytest-timeout",
    "env": "pytest-env",
    "DJANGO_SETTINGS_MODULE": "pytest-django",
    "mock_use_standalone_module": "pytest-mock",
    "mypy-testing": "pytest-mypy-testing",
    "doctest_plus": "pytest-doctestplus",
    "doctest_rst": "pytest-doctestplus",
    "flake8-ignore": "pytest-flake8",
    "trio_mode": "pytest-trio",
    "qt_api": "pytest-qt",
    "mpl-baseline-path": "pytest-mpl",
    "mpl-results-path": "pytest-mpl",
    "remote_data_strict": "pytest-remotedata",
    "looponfailroots": "pytest-xdist",
    "rsyncdirs": "pytest-xdist",
}

# Fixtures a test asks for by parameter name -> the plugin that provides them.
FIXTURE_TO_DIST: dict[str, str] = {
    "mocker": "pytest-mock",
    "class_mocker": "pytest-mock",
    "module_mocker": "pytest-mock",
    "benchmark": "pytest-benchmark",
    "httpserver": "pytest-httpserver",
    "requests_mock": "requests-mock",
    "respx_mock": "respx",
    "httpx_mock": "pytest-httpx",
    "snapshot": "syrupy",
    "data_regression": "pytest-regressions",
    "file_regression": "pytest-regressions",
    "num_regression": "pytest-regressions",
    "datadir": "pytest-datadir",
    "shared_datadir": "pytest-datadir",
    "freezer": "pytest-freezer",
    "time_machine": "time-machine",
    "fs": "pyfakefs",
    "aiohttp_client": "pytest-aiohttp",
    "aiohttp_server": "pytest-aiohttp",
    "event_loop": "pytest-asyncio",
    "qtbot": "pytest-qt",
    "virtualenv": "pytest-virtualenv",
    "subtests": "pytest-subtests",
    "xprocess": "pytest-xprocess",
    "lazy_fixture": "pytest-lazy-fixture",
    "caplog_json": "",
}

# `pytest.mark.NAME` -> the plugin that gives the marker its meaning.
MARKER_TO_DIST: dict[str, str] = {
    "asyncio": "pytest-asyncio",
    "timeout": "pytest-timeout",
    "benchmark": "pytest-benchmark",
    "flaky": "pytest-rerunfailures",
    "trio": "pytest-trio",
    "django_db": "pytest-django",
    "vcr": "pytest-recording",
    "freeze_time": "pytest-freezer",
    "httpx_mock": "pytest-httpx",
    "respx": "respx",
    "mpl_image_compare": "pytest-mpl",
    "order": "pytest-order",
    "dependency": "pytest-dependency",
    "repeat": "pytest-repeat",
}

# The running interpreter's standard library, plus what newer and older versions have.
_STDLIB = frozenset(sys.stdlib_module_names) | {
    "__future__",
    "_colorize",
    "_interpchannels",
    "_interpqueues",
    "_interpreters",
    "_pyrepl",
    "annotationlib",
    "asynchat",
    "asyncore",
    "compression",
    "distutils",
    "imp",
    "smtpd",
    # Python 2 names, still imported under `if PY2:` in old suites
    "__builtin__",
    "BaseHTTPServer",
    "CGIHTTPServer",
    "ConfigParser",
    "Cookie",
    "HTMLParser",
    "Queue",
    "SimpleHTTPServer",
    "SimpleXMLRPCServer",
    "SocketServer",
    "StringIO",
    "Tkinter",
    "UserDict",
    "UserList",
    "UserString",
    "cPickle",
    "cStringIO",
    "commands",
    "cookielib",
    "copy_reg",
    "dummy_thread",
    "dummy_threading",
    "exceptions",
    "htmlentitydefs",
    "httplib",
    "md5",
    "new",
    "repr",
    "robotparser",
    "sets",
    "sha",
    "thread",
    "urllib2",
    "urlparse",
    "xmlrpclib",
}


# What the standard library dropped since 3.11 (PEP 594's modules in 3.13; distutils,
# imp, asynchat, asyncore and smtpd in 3.12)
_DROPPED = frozenset(
    {
        "aifc", "asynchat", "asyncore", "audioop", "cgi", "cgitb", "chunk", "crypt",
        "distutils", "imghdr", "imp", "lib2to3", "mailcap", "msilib", "nis", "nntplib",
        "ossaudiodev", "pipes", "smtpd", "sndhdr", "spwd", "sunau", "telnetlib", "uu",
        "xdrlib",
    }
)  # fmt: skip


def in_every_current_python(module: str) -> bool:
    """A standard-library module every CPython from 3.11 on has (``zoneinfo``, not
    ``imp``): an import of it never fails there."""
    top = module.split(".", 1)[0]
    return top in sys.stdlib_module_names and top not in _DROPPED


def is_stdlib(module: str) -> bool:
    """True for a module of the standard library (any version from 3.8 on)."""
    return module.split(".", 1)[0] in _STDLIB


def import_key(module: str) -> str:
    """The part of a dotted import that names a distribution: ``jaraco.text`` for
    ``jaraco.text.layouts``, ``yaml`` for ``yaml.constructor``."""
    parts = module.split(".")
    if ".".join(parts[:2]) in NESTED_NAMESPACES and len(parts) > 2:
        return ".".join(parts[:3])
    if parts[0] in NAMESPACE_ROOTS and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def distribution_for(module: str) -> str:
    """The distribution that provides ``module`` (a dotted import name)."""
    key = import_key(module)
    if key in IMPORT_TO_DIST:
        return IMPORT_TO_DIST[key]
    top = module.split(".", 1)[0]
    if top in IMPORT_TO_DIST:
        return IMPORT_TO_DIST[top]
    for pattern, template in _NAMESPACE_CONVENTIONS:
        found = pattern.match(key)
        if found:
            return template.format(name=found.group("name").replace("_", "-"))
    parent, _, last = key.rpartition(".")
    if key.count(".") > 1 and last.startswith("_"):  # a private module of the namespace's own
        return distribution_for(parent)
    if key.count(".") > 1:  # a nested namespace: google.cloud.storage -> google-cloud-storage
        return re.sub(r"[._]", "-", key)
    return re.sub(r"_", "-", key)


def canonical(name: str) -> str:
    return str(canonicalize_name(name))
