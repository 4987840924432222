"""The errors a user of the snapshot publisher can cause, one type per concern.

Each message is the one line the user reads: it names the file, package or environment
variable at fault and, where there is one, the fix. The command line prints it on stderr
and exits non-zero; nothing here should ever reach the user as a traceback.
"""

from __future__ import annotations


class PublishError(Exception):
    """Base of every error the publisher reports as one line."""

    exit_code = 1


class PlanError(PublishError):
    """The packages cannot be published as they are: status, version, dependency, cycle."""


class LocalPathDependencyError(PlanError):
    """A requirement points at a local path or file:// URL outside the monorepo."""


class SnapshotIdError(PublishError):
    """The snapshot id from the environment cannot be used."""


class BuildError(PublishError):
    """`python -m build` failed for a package."""


class VerificationError(PublishError):
    """A built file is not what may be uploaded (metadata, secrets, install check)."""


class TargetError(PublishError):
    """The upload target or its credentials are not configured."""


class AuthError(PublishError):
    """The registry refused our credentials (HTTP 401/403)."""


class ConflictError(PublishError):
    """The registry already holds a file of the same name with different content."""


class RegistryNetworkError(PublishError):
    """The registry could not be reached or answered something unexpected."""


class UploadError(PublishError):
    """An upload failed for a reason that is none of the above."""
