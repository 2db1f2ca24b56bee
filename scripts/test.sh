#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite.
# Usage: ./scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Reuse one build directory across runs and checkouts.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/steward-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo test --locked --all-targets "$@"
