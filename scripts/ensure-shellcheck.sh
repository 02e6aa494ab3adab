#!/bin/sh
# Make sure shellcheck is available for `make test` (the Makefile's shellcheck step checks
# config/run-migration.sh and scripts/*.sh). Installs Debian's "shellcheck" package with apt-get
# when the command is missing and we are root with apt-get available; otherwise says why not and
# exits 0, so the caller carries on and the shellcheck step is skipped with this reason.
# Set ZTOQ_REQUIRE_SHELLCHECK=1 to exit 1 instead when shellcheck cannot be made available.
set -u

# shellcheck source=SCRIPTDIR/apt-ensure.sh
. "$(dirname "$0")/apt-ensure.sh"
ensure_setup ensure-shellcheck "the shell scripts will not be checked" "${ZTOQ_REQUIRE_SHELLCHECK:-}"

if command -v shellcheck >/dev/null 2>&1; then
    echo "ensure-shellcheck: $(command -v shellcheck) is present."
    exit 0
fi
apt_install shellcheck shellcheck shellcheck
if ! command -v shellcheck >/dev/null 2>&1; then
    cannot "the shellcheck package installed but the shellcheck command is still missing"
fi
echo "ensure-shellcheck: installed $(shellcheck --version | sed -n 's/^version: /shellcheck /p')."
