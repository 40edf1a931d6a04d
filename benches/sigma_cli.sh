#!/usr/bin/env bash
# Prints the path of sigma-cli 3.1.0's `sigma` command (with pySigma-backend-elasticsearch for
# the eql target), installing it into a venv (SIGMA_CLI_VENV, default /tmp/sigma-cli-venv) from
# PyPI when it is missing. Used by `cargo bench --bench convert`.
set -euo pipefail
VENV="${SIGMA_CLI_VENV:-/tmp/sigma-cli-venv}"
if [ ! -x "$VENV/bin/sigma" ]; then
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        'sigma-cli==3.1.0' 'pysigma-backend-elasticsearch' >&2
fi
echo "$VENV/bin/sigma"
