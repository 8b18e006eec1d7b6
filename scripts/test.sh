#!/usr/bin/env bash
# Install groupeval with its test extras and run the whole test suite.
# Used verbatim by the README's quick start and by CI (.ci/run).
# pytest's exit code 5 ("no tests collected") is turned into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

# The browser test renders the report in Debian's headless Chromium. Install it
# when we can (root with apt-get, as in CI); elsewhere that test skips unless CI is set.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser test..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "warning: could not install chromium" >&2
fi

python -m pip install --quiet --disable-pip-version-check -e ".[test]" || exit 1
python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
