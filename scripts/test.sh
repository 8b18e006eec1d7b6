#!/usr/bin/env bash
# Install groupeval with its test extras and run the whole test suite.
# pytest's exit code 5 ("no tests collected") is turned into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --upgrade pip >/dev/null
python -m pip install --quiet -e ".[test]" || exit 1
python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
