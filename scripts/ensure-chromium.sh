#!/bin/sh
# Make sure headless Chromium is available for the report browser test
# (tests/e2e/test_report_browser.py). Installs Debian's "chromium" package with apt-get when
# /usr/bin/chromium is missing and we are root with apt-get available; otherwise says why not and
# exits 0, so the caller carries on and the browser test skips with its own reason.
# Set ZTOQ_REQUIRE_CHROMIUM=1 to exit 1 instead when Chromium cannot be made available.
set -u

CHROMIUM=/usr/bin/chromium

# shellcheck source=SCRIPTDIR/apt-ensure.sh
. "$(dirname "$0")/apt-ensure.sh"
ensure_setup ensure-chromium "the report browser test will be skipped" "${ZTOQ_REQUIRE_CHROMIUM:-}"

if [ -x "$CHROMIUM" ]; then
    echo "ensure-chromium: $CHROMIUM is present."
    exit 0
fi
apt_install chromium "$CHROMIUM" Chromium
if [ ! -x "$CHROMIUM" ]; then
    cannot "the chromium package installed but $CHROMIUM is still missing"
fi
echo "ensure-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)."
