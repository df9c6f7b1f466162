#!/usr/bin/env bash
# Install everything the test suite needs, then run it. README's test command and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
# A virtual environment of the project's own (.venv), unless one is active: Debian's python refuses
# pip installs outside one (PEP 668). It sees the machine's packages, so what is installed is reused.
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv --system-site-packages .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
# torch for the tests that compare with transformers. Where a CPU build of this pin is offered (as on
# the project's CI machines) pip takes it; on a Linux machine with only the public index the pin is the
# CUDA build (about 2.7 GB): install the CPU build first as README says if that matters to you.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[all,test]"
# The browser tests drive Debian's chromium (never `playwright install`, which downloads a browser).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; browser tests will be skipped"
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -m pytest -q "$@"
