#!/usr/bin/env bash
# hf_frame with only one dataframe library installed, for real: a fresh virtualenv per backend,
# `pip install -e '.[polars]'` (no pandas) or `'.[pandas]'` (no polars), then the tests that apply.
#
#   scripts/check_single_backend.sh            # both: polars-only, then pandas-only
#   scripts/check_single_backend.sh polars     # one of them
#
# PYTHON picks the interpreter for the virtualenvs (default python3). The virtualenvs are made in
# a temporary directory and removed afterwards. Exits non-zero if the other library got installed
# anyway (a dependency pulling it in) or a test fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hf_frame_single_backend.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

check() {
    local backend=$1 other tests venv start
    start=$(date +%s)
    case $backend in
        polars) other=pandas; tests="tests/test_backends.py tests/test_polars.py tests/test_single_backend.py" ;;
        pandas) other=polars; tests="tests/test_backends.py tests/test_pandas_integration.py tests/test_single_backend.py" ;;
        *) echo "unknown backend '$backend' (polars or pandas)" >&2; return 2 ;;
    esac
    venv="$WORK/$backend-only"
    echo "== $backend only: installing hf_frame[$backend] into a fresh virtualenv"
    "$PYTHON" -m venv "$venv"
    if ! "$venv/bin/pip" install -q -e "$ROOT[$backend]" pytest pytest-timeout >"$WORK/$backend-pip.log" 2>&1; then
        cat "$WORK/$backend-pip.log" >&2
        return 1
    fi
    if "$venv/bin/python" -c "import $other" 2>/dev/null; then
        echo "FAIL: $other is importable in the $backend-only environment" >&2
        return 1
    fi
    echo "== $backend only: running $tests"
    (cd "$ROOT" && "$venv/bin/python" -m pytest -q -p no:cacheprovider $tests)
    echo "== $backend only: done in $(( $(date +%s) - start )) s"
}

for backend in ${1:-polars pandas}; do
    check "$backend"
done
