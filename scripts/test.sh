#!/usr/bin/env bash
# Install everything the test suite needs, then run it. README's test command and .ci/run both call this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
# A CPU build of torch first: an unpinned torch pulls several GB of CUDA packages.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[all,test]"
# The browser tests drive Debian's chromium (never `playwright install`, which downloads a browser).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; browser tests will be skipped"
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python -m pytest -q "$@"
