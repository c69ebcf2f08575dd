#!/usr/bin/env bash
# The Python peers of the FOTA tests, pinned, in a virtual environment of the project's own:
# MCUboot's imgtool (signs images) and detools (makes delta patches). Prints the
# environment's bin directory. Tests find it at target/peers-venv, or where
# IOTADM_PEERS_VENV points.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${IOTADM_PEERS_VENV:-$PWD/target/peers-venv}"
pins=(imgtool==2.5.0 detools==0.53.0)
if ! "$venv/bin/python" -c 'import imgtool, detools' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
fi
echo "$venv/bin"
