# shellcheck shell=sh
# Sourced by scripts/ensure-*.sh, not run: what they share to install one Debian package with
# apt-get when it is missing, or to say why it cannot be.
#
# ensure_setup NAME WITHOUT REQUIRED: NAME starts every message ("ensure-chromium"); WITHOUT says
# what happens when the package cannot be had ("the report browser test will be skipped");
# REQUIRED non-empty (the script's ZTOQ_REQUIRE_* variable) makes that exit 1 instead of 0.
ensure_setup() {
    ensure_name=$1
    ensure_without=$2
    ensure_required=$3
}

# cannot REASON: say why the package cannot be had and what happens without it, then exit.
cannot() {
    echo "$ensure_name: $1; $ensure_without." >&2
    if [ -n "$ensure_required" ]; then
        exit 1
    fi
    exit 0
}

# apt_install PACKAGE MISSING SOFTWARE: install PACKAGE with apt-get, or call cannot when we are
# not root on a system with apt-get or the install fails. MISSING is what the caller found missing
# and SOFTWARE what to install by hand, both as the messages say them.
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        cannot "$2 is missing and apt-get is not available (not a Debian/Ubuntu system?): install $3 with your package manager"
    fi
    if [ "$(id -u)" != "0" ]; then
        cannot "$2 is missing and installing it needs root: run 'sudo apt-get install -y $1'"
    fi

    echo "$ensure_name: installing $1 with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -q >/dev/null; then
        cannot "apt-get update failed (no network or no package source?)"
    fi
    if ! apt-get install -y -q --no-install-recommends "$1" >/dev/null; then
        cannot "apt-get install $1 failed"
    fi
}
