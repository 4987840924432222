#!/usr/bin/env bash
# The sandbox's attack tests (packages/sandbox-runner/tests/test_attacks.py) run as an
# ordinary user, where the process limit is RLIMIT_NPROC inside bwrap's user namespace
# rather than a pids cgroup. Run as root: it creates the user (default apiary-attack)
# if needed, copies the package into its home and runs the tests with the system
# python3 (3.11 or newer) in a venv of that user's.
set -euo pipefail
user=${1:-apiary-attack}
python=${PYTHON:-/usr/bin/python3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
copy="$home/sandbox-runner"
rm -rf "$copy"
cp -r "$repo/packages/sandbox-runner" "$copy"
chown -R "$user:" "$copy"
runuser -u "$user" -- bash -c "
  set -euo pipefail
  cd ~
  [ -x venv/bin/pytest ] || { $python -m venv venv && venv/bin/pip install -q pydantic typer pytest; }
  venv/bin/pip install -q --no-deps -e '$copy'
  cd '$copy' && ~/venv/bin/pytest -q -p no:cacheprovider tests/test_attacks.py
"
