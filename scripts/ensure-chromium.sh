#!/bin/sh
# Make sure headless Chromium is available for the report browser test
# (tests/e2e/test_report_browser.py). Installs Debian's "chromium" package with apt-get when
# /usr/bin/chromium is missing and we are root with apt-get available; otherwise says why not and
# exits 0, so the caller carries on and the browser test skips with its own reason.
# Set ZTOQ_REQUIRE_CHROMIUM=1 to exit 1 instead when Chromium cannot be made available.
set -u

CHROMIUM=/usr/bin/chromium

cannot() {
    echo "ensure-chromium: $1; the report browser test will be skipped." >&2
    if [ -n "${ZTOQ_REQUIRE_CHROMIUM:-}" ]; then
        exit 1
    fi
    exit 0
}

if [ -x "$CHROMIUM" ]; then
    echo "ensure-chromium: $CHROMIUM is present."
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    cannot "$CHROMIUM is missing and apt-get is not available (not a Debian/Ubuntu system?): install Chromium with your package manager"
fi
if [ "$(id -u)" != "0" ]; then
    cannot "$CHROMIUM is missing and installing it needs root: run 'sudo apt-get install -y chromium'"
fi

echo "ensure-chromium: installing chromium with apt-get..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >/dev/null; then
    cannot "apt-get update failed (no network or no package source?)"
fi
if ! apt-get install -y -q --no-install-recommends chromium >/dev/null; then
    cannot "apt-get install chromium failed"
fi
if [ ! -x "$CHROMIUM" ]; then
    cannot "the chromium package installed but $CHROMIUM is still missing"
fi
echo "ensure-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)."
