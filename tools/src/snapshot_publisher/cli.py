"""Publish every non-internal monorepo package as a snapshot: `<base>.dev<snapshot id>`.

    python -m snapshot_publisher --dry-run
    python -m snapshot_publisher --build-only OUTDIR
    python -m snapshot_publisher --confirm-live-publish [--out-dir DIR]

Run from the repository root with the dev environment's python. See
docs/how-to/publish-snapshots.md. Every error a user can cause ends in one line on stderr
and a non-zero exit; no secret is ever printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from snapshot_publisher.credentials import Scrubber, target_from_env
from snapshot_publisher.errors import PublishError
from snapshot_publisher.index import IndexReader
from snapshot_publisher.pipeline import build_and_verify, publish
from snapshot_publisher.plan import make_plan
from snapshot_publisher.versioning import snapshot_id

EXIT_USAGE = 2


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m snapshot_publisher",
        description="Build, verify and publish snapshot releases of the monorepo's packages.",
    )
    mode = cli.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (packages, order, versions, rewrites) and build nothing",
    )
    mode.add_argument(
        "--build-only",
        metavar="OUTDIR",
        type=Path,
        help="build and verify into OUTDIR, upload nothing",
    )
    mode.add_argument(
        "--confirm-live-publish",
        action="store_true",
        help="build, verify and upload to the "
        "GitLab registry (GITLAB_BASE_URL, GITLAB_PYPI_PROJECT_ID, GITLAB_PYPI_USERNAME, "
        "GITLAB_PYPI_PASSWORD; the job token inside GitLab CI)",
    )
    cli.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where --confirm-live-publish puts the "
        "dists, manifest and constraints (default dist/snapshot-<id>)",
    )
    cli.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="the monorepo root (default: the current directory)",
    )
    cli.add_argument("--jobs", type=int, default=None, help="parallel builds (default: cores)")
    return cli


def run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    args = parser().parse_args(argv)
    if not (args.dry_run or args.build_only or args.confirm_live_publish):
        print(
            "refusing to run without a mode: --dry-run (plan only), --build-only OUTDIR "
            "(build and verify) or --confirm-live-publish (upload)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    root = args.root.resolve()
    if not (root / "packages").is_dir():
        print(f"{root}: no packages/ folder; run from the repository root", file=sys.stderr)
        return EXIT_USAGE
    snapshot = snapshot_id(env)
    for name in snapshot.ignored:
        print(f"warning: {name} is not a number and was ignored", file=sys.stderr)
    plan = make_plan(root, snapshot, env)
    if args.dry_run:
        print("\n".join(plan.describe()))
        print("dry run: nothing built, nothing uploaded")
        return 0
    if args.build_only:
        result = build_and_verify(plan, args.build_only, env=env, jobs=args.jobs)
        print(f"manifest: {result.manifest}")
        print(f"constraints: {result.constraints}")
        print("build only: nothing uploaded")
        return 0
    # Resolve the target before building, so a missing variable fails fast.
    target = target_from_env(env)
    if not plan.packages:
        print("nothing to publish: every package is internal")
        return 0
    out_dir = args.out_dir or root / "dist" / f"snapshot-{snapshot.value}"
    print("\n".join(plan.describe()))
    print(f"target: {target}")
    # One read of the index before building: bad credentials or an unreachable registry
    # are reported in seconds, not after the builds.
    IndexReader(target).files(plan.packages[0].name)
    result = build_and_verify(plan, out_dir, env=env, jobs=args.jobs, target_url=target.upload_url)
    report = publish(result, target, env=env)
    print(
        f"published snapshot {snapshot.value}: {len(report.uploaded)} uploaded, "
        f"{len(report.skipped)} already there"
    )
    print(f"manifest: {result.manifest}")
    print(f"constraints: {result.constraints}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    env = dict(os.environ)
    scrub = Scrubber.from_env(env)
    try:
        return run(sys.argv[1:] if argv is None else argv, env)
    except PublishError as exc:
        print(f"error: {scrub(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `--dry-run | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("interrupted: re-run with the same snapshot id to complete the set", file=sys.stderr)
        return 130
