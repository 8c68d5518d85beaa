#!/usr/bin/env bash
# Installs Chromium from Debian's packages for the browser test of the brand reports
# (tests/test_report_browser.py). Idempotent: does nothing when /usr/bin/chromium is there.
# Nothing downloads a browser build of its own; Playwright drives this system Chromium.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "setup_browser: installing chromium from Debian packages"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
command -v chromium >/dev/null
