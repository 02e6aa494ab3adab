#!/usr/bin/env bash
# The migration runner of the Migration Workflow Guide ("Automated Migration with Docker"):
#
#   ./config/run-migration.sh setup
#   ./config/run-migration.sh run [--batch-size N] [--workers N] [--phase P]
#   ./config/run-migration.sh status | report | dashboard
#
# ztoq runs in a container (the image built from this repository's Dockerfile) when a Docker
# daemon answers, and in a local virtual environment otherwise; --local forces the latter. Three
# folders are shared with ztoq: the config folder (read-only), the store folder (ztoq's working
# directory: the SQLite store, the log, the attachment cache) and the reports folder. Secrets are
# read from the environment only and handed on by name, never as arguments. The exit code is
# ztoq's. Run "config/run-migration.sh help" for the options.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROG="config/run-migration.sh"

# Where ztoq sees the three folders inside the container (the Dockerfile creates them).
C_CONFIG=/ztoq/config
C_DATA=/ztoq/data
C_REPORTS=/ztoq/reports
C_DASHBOARD_PORT=8300
IMAGE_UID=10001

# The runner's own settings: options win over these environment variables, which win over defaults.
CONFIG="${ZTOQ_CONFIG:-$ROOT/config/config.yaml}"
DATA_DIR="${ZTOQ_DATA_DIR:-$ROOT/ztoq-data}"
REPORTS_DIR="${ZTOQ_REPORTS_DIR:-$ROOT/ztoq-reports}"
VENV="${ZTOQ_VENV:-$ROOT/.venv}"
IMAGE="${ZTOQ_IMAGE:-ztoq:latest}"
NETWORK="${ZTOQ_DOCKER_NETWORK:-}"
DASHBOARD_PORT="${ZTOQ_DASHBOARD_PORT:-8300}"
PYTHON="${PYTHON:-python3}"
LOCAL="${ZTOQ_LOCAL:-}"
REPORT_NAME=migration-report.html

# Variables ztoq reads that do not start with ZTOQ_ (the seed guide's CI secret names).
EXTRA_ENV=(zephyr_access_token ZEPHYR_ACCESS_TOKEN qtest_bearer_token QTEST_BEARER_TOKEN)
# The runner's own ZTOQ_ variables: not handed on to ztoq.
RUNNER_ENV=" ZTOQ_CONFIG ZTOQ_DATA_DIR ZTOQ_REPORTS_DIR ZTOQ_VENV ZTOQ_IMAGE ZTOQ_DOCKER_NETWORK ZTOQ_DASHBOARD_PORT ZTOQ_LOCAL "

usage() {
    cat <<EOF
Usage: $PROG COMMAND [OPTIONS] [-- ZTOQ_OPTIONS]

Commands:
  setup       Build the ztoq image (or, without Docker, create the local virtual environment),
              write the config from a commented template if it does not exist, and initialise
              the store (ztoq db init).
  run         Run the migration (ztoq migrate run); run it again to resume or to sync changes.
                --batch-size N   rows per database batch (performance.batch_size)
                --workers N      requests in flight per API (performance.max_workers)
                --phase P        a phase or a comma-separated list: extract,transform,load,validate
              Anything after "--" is passed to ztoq migrate run (e.g. -- --incremental true).
  status      Where the migration stands (ztoq migrate status).
  report      Write the HTML report to the reports folder ($REPORT_NAME).
  dashboard   Serve the live dashboard on http://127.0.0.1:PORT until Ctrl+C.
                --port N         the loopback port (default 8300; ZTOQ_DASHBOARD_PORT)
  help        Show this help.

Options for every command (or the environment variable in brackets):
  --local            Run ztoq in the local virtual environment even when Docker is available
                     [ZTOQ_LOCAL=1].
  --config FILE      The migration config [ZTOQ_CONFIG; default config/config.yaml]. Its folder
                     is mounted read-only; relative paths in it resolve in the store folder.
  --data-dir DIR     The store folder: ztoq's working directory [ZTOQ_DATA_DIR; default ztoq-data].
  --reports-dir DIR  The reports folder [ZTOQ_REPORTS_DIR; default ztoq-reports].
  --venv DIR         The local virtual environment [ZTOQ_VENV; default .venv].
  --image NAME       The Docker image [ZTOQ_IMAGE; default ztoq:latest].
  --network NAME     The Docker network the container joins, e.g. ztoq_default to reach the
                     PostgreSQL of docker-compose.yml [ZTOQ_DOCKER_NETWORK].

Secrets come from the environment only: ZTOQ_ZEPHYR_API_TOKEN (or zephyr_access_token),
ZTOQ_QTEST_BEARER_TOKEN (or qtest_bearer_token), ZTOQ_QTEST_PASSWORD, ZTOQ_ZEPHYR_PASSWORD,
ZTOQ_DATABASE_PASSWORD. Every ZTOQ_<SECTION>_<KEY> variable set here reaches ztoq.
Exit codes are ztoq's: 0 success, 1 a failed run, 2 bad input or configuration, 130 interrupted.
EOF
}

die() {
    echo "$PROG: $1" >&2
    exit "${2:-2}"
}

say() {
    echo "$PROG: $1" >&2
}

absolute() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

need_value() {
    if [ "$#" -lt 2 ] || [ -z "$2" ]; then
        die "$1 needs a value; see '$PROG help'."
    fi
}

positive_int() {
    [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive whole number, not '$2'."
}

# -- Arguments ----------------------------------------------------------------------------------

COMMAND=""
BATCH_SIZE=""
WORKERS=""
PHASES=""
PASSTHROUGH=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --local) LOCAL=1 ;;
        --config) need_value "$@"; CONFIG="$2"; shift ;;
        --data-dir) need_value "$@"; DATA_DIR="$2"; shift ;;
        --reports-dir) need_value "$@"; REPORTS_DIR="$2"; shift ;;
        --venv) need_value "$@"; VENV="$2"; shift ;;
        --image) need_value "$@"; IMAGE="$2"; shift ;;
        --network) need_value "$@"; NETWORK="$2"; shift ;;
        --batch-size) need_value "$@"; positive_int "$1" "$2"; BATCH_SIZE="$2"; shift ;;
        --workers) need_value "$@"; positive_int "$1" "$2"; WORKERS="$2"; shift ;;
        --phase | --phases) need_value "$@"; PHASES="$2"; shift ;;
        --port) need_value "$@"; DASHBOARD_PORT="$2"; shift ;;
        -h | --help) COMMAND=help ;;
        --) shift; PASSTHROUGH=("$@"); break ;;
        -*) die "unknown option $1; see '$PROG help'." ;;
        *)
            [ -z "$COMMAND" ] || die "one command at a time ('$COMMAND' and '$1'); see '$PROG help'."
            COMMAND="$1"
            ;;
    esac
    shift
done
[ -n "$COMMAND" ] || { usage >&2; exit 2; }

case "$COMMAND" in
    run) ;;
    *)
        if [ -n "$BATCH_SIZE$WORKERS$PHASES" ] || [ "${#PASSTHROUGH[@]}" -gt 0 ]; then
            die "--batch-size, --workers, --phase and '-- options' belong to 'run'."
        fi
        ;;
esac
if ! [[ "$DASHBOARD_PORT" =~ ^[0-9]+$ ]] || [ "$DASHBOARD_PORT" -gt 65535 ]; then
    die "--port must be a port number (0-65535), not '$DASHBOARD_PORT'."
fi

if [ "$LOCAL" = 0 ]; then
    LOCAL=""
fi
CONFIG="$(absolute "$CONFIG")"
CONFIG_DIR="$(dirname "$CONFIG")"
CONFIG_NAME="$(basename "$CONFIG")"
DATA_DIR="$(absolute "$DATA_DIR")"
REPORTS_DIR="$(absolute "$REPORTS_DIR")"
VENV="$(absolute "$VENV")"

# -- Where ztoq runs ----------------------------------------------------------------------------

use_docker() {
    [ -z "$LOCAL" ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

if use_docker; then
    MODE=docker
    IN_CONFIG="$C_CONFIG/$CONFIG_NAME"
    IN_REPORTS="$C_REPORTS"
else
    MODE=local
    IN_CONFIG="$CONFIG"
    IN_REPORTS="$REPORTS_DIR"
fi

# The environment ztoq reads: every ZTOQ_ variable but the runner's own, and the CI secret names.
forwarded_env() {
    local name
    while IFS= read -r name; do
        case "$name" in
            ZTOQ_*) [[ "$RUNNER_ENV" == *" $name "* ]] || printf '%s\n' "$name" ;;
        esac
    done < <(compgen -e)
    for name in "${EXTRA_ENV[@]}"; do
        if [ -n "${!name:-}" ]; then
            printf '%s\n' "$name"
        fi
    done
}

# Make a folder ztoq writes to; one this runner creates keeps its contents out of git.
ensure_dir() {
    if [ ! -d "$1" ]; then
        mkdir -p "$1"
        printf '*\n' >"$1/.gitignore"
    fi
}

# The container runs as the calling user, so the files it writes in the mounted folders are the
# caller's. Called by root, it keeps the image's unprivileged user (IMAGE_UID, see the
# Dockerfile), which is given the folders and must be able to read the config.
# Sets CONTAINER_USER (not a command substitution: die must stop the script itself).
container_user() {
    local dir
    CONTAINER_USER=""
    if [ "$(id -u)" != "0" ]; then
        CONTAINER_USER="--user=$(id -u):$(id -g)"
        return
    fi
    for dir in "$DATA_DIR" "$REPORTS_DIR"; do
        if [ -z "$(find "$dir" -maxdepth 0 -user "$IMAGE_UID")" ]; then
            chown -R "$IMAGE_UID:$IMAGE_UID" "$dir"
        fi
    done
    if [ -z "$(find "$CONFIG" -maxdepth 0 \( -user "$IMAGE_UID" -o -perm -004 \))" ]; then
        die "the container's user (uid $IMAGE_UID) cannot read $CONFIG: run 'chown $IMAGE_UID $CONFIG', or run $PROG as a user other than root."
    fi
}

# Run ztoq with these arguments (in the container or the virtual environment) in place of this
# script, so that its exit code and signals are ztoq's. Extra `docker run` options come first,
# up to "--".
exec_ztoq() {
    local docker_opts=()
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
        docker_opts+=("$1")
        shift
    done
    shift
    ensure_dir "$DATA_DIR"
    ensure_dir "$REPORTS_DIR"
    if [ "$MODE" = local ]; then
        [ -x "$VENV/bin/ztoq" ] || die "ztoq is not installed in $VENV; run '$PROG setup --local' first."
        cd "$DATA_DIR"
        exec "$VENV/bin/ztoq" "$@"
    fi
    local args=(run --rm --init)
    local name
    container_user
    if [ -n "$CONTAINER_USER" ]; then
        args+=("$CONTAINER_USER" --env HOME=/tmp)
    fi
    if [ -n "$NETWORK" ]; then
        args+=(--network "$NETWORK")
    fi
    if [ -t 0 ] && [ -t 1 ]; then
        args+=(--interactive --tty)
    fi
    args+=(
        --volume "$CONFIG_DIR:$C_CONFIG:ro"
        --volume "$DATA_DIR:$C_DATA"
        --volume "$REPORTS_DIR:$C_REPORTS"
        --workdir "$C_DATA"
    )
    while IFS= read -r name; do
        args+=(--env "$name")
    done < <(forwarded_env)
    exec docker "${args[@]}" "${docker_opts[@]}" "$IMAGE" "$@"
}

# Like exec_ztoq, but returns ztoq's exit code instead of replacing this script.
call_ztoq() {
    local rc=0
    (exec_ztoq "$@") || rc=$?
    return "$rc"
}

need_config() {
    [ -f "$CONFIG" ] || die "no config at $CONFIG; run '$PROG setup' first (or pass --config FILE)."
}

# -- setup --------------------------------------------------------------------------------------

write_config_template() {
    mkdir -p "$CONFIG_DIR"
    (umask 077 && cat >"$CONFIG") <<'EOF'
# ztoq migration config, written by config/run-migration.sh setup. Fill in the three
# "change me" values; every key is described in docs/user-guide.md ("Write config.yaml").
#
# Secrets do not belong here: export them before running the runner, which hands them on
# to ztoq from the environment (CI secrets work the same way):
#   ZTOQ_ZEPHYR_API_TOKEN    (or zephyr_access_token)  the Zephyr Scale API token
#   ZTOQ_QTEST_BEARER_TOKEN  (or qtest_bearer_token)   the qTest API token
#   ZTOQ_DATABASE_PASSWORD                             the PostgreSQL password, if any
#
# Relative paths resolve in the store folder (ztoq-data/ by default; /ztoq/data in the container).

zephyr:
  # Zephyr Scale Cloud REST API v2 (EU sites: https://eu.api.zephyrscale.smartbear.com/v2).
  # Server / Data Center: the Jira site instead, e.g. https://jira.example.com
  base_url: https://api.zephyrscale.smartbear.com/v2
  project_key: PROJECT                        # change me: the Jira project key

qtest:
  base_url: https://yourcompany.qtestnet.com  # change me: the site root, without /api/v3
  project_id: 12345                           # change me: the numeric qTest project id

database:
  type: sqlite              # postgresql for large migrations (see docker-compose.yml)
  path: migration.db        # in the store folder
  # host: localhost
  # port: 5432
  # username: ztoq_user
  # database: ztoq_db

performance:
  batch_size: 100           # run --batch-size N overrides it
  max_workers: 8            # run --workers N overrides it

migration:
  phases: extract,transform,load,validate   # run --phase P overrides it
  include_attachments: true

logging:
  level: INFO               # DEBUG, INFO, WARNING, ERROR, CRITICAL
  file: ztoq-migration.log  # in the store folder
EOF
    say "wrote a config template to $CONFIG: fill in zephyr.project_key, qtest.base_url and qtest.project_id."
}

setup_local() {
    if [ -x "$VENV/bin/ztoq" ]; then
        say "using ztoq in $VENV ($("$VENV/bin/ztoq" --version))."
        return
    fi
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or newer (or set PYTHON)."
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "ztoq needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)."
    say "creating $VENV and installing ztoq from $ROOT..."
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet "$ROOT"
    say "installed $("$VENV/bin/ztoq" --version) in $VENV."
}

setup() {
    if [ "$MODE" = docker ]; then
        say "building the image $IMAGE from $ROOT..."
        docker build --tag "$IMAGE" "$ROOT"
    else
        if [ -z "$LOCAL" ]; then
            say "no Docker daemon answers (docker info); preparing a local virtual environment instead."
        fi
        setup_local
    fi
    if [ ! -f "$CONFIG" ]; then
        write_config_template
        if [ "$MODE" = docker ] && [ "$(id -u)" = "0" ]; then
            chown "$IMAGE_UID:$IMAGE_UID" "$CONFIG"
        fi
    fi
    ensure_dir "$DATA_DIR"
    ensure_dir "$REPORTS_DIR"
    call_ztoq -- db init --config "$IN_CONFIG"
}

# -- Commands -----------------------------------------------------------------------------------

case "$COMMAND" in
    help)
        usage
        ;;
    setup)
        setup
        ;;
    run)
        need_config
        if [ -n "$BATCH_SIZE" ]; then
            export ZTOQ_PERFORMANCE_BATCH_SIZE="$BATCH_SIZE"
        fi
        if [ -n "$WORKERS" ]; then
            export ZTOQ_PERFORMANCE_MAX_WORKERS="$WORKERS"
        fi
        args=(migrate run --config "$IN_CONFIG")
        if [ -n "$PHASES" ]; then
            args+=(--phases "$PHASES")
        fi
        exec_ztoq -- "${args[@]}" "${PASSTHROUGH[@]}"
        ;;
    status)
        need_config
        exec_ztoq -- migrate status --config "$IN_CONFIG"
        ;;
    report)
        need_config
        rc=0
        call_ztoq -- migrate status --config "$IN_CONFIG" --format html \
            --output-file "$IN_REPORTS/$REPORT_NAME" || rc=$?
        if [ "$rc" -eq 0 ]; then
            say "report written to $REPORTS_DIR/$REPORT_NAME"
        fi
        exit "$rc"
        ;;
    dashboard)
        need_config
        if [ "$MODE" = local ]; then
            exec_ztoq -- dashboard --config "$IN_CONFIG" --host 127.0.0.1 --port "$DASHBOARD_PORT"
        fi
        [ "$DASHBOARD_PORT" -gt 0 ] || die "--port 0 works only with --local; choose a port."
        # Inside the container ztoq listens on every interface; Docker publishes it on loopback only.
        say "dashboard published on http://127.0.0.1:$DASHBOARD_PORT (loopback only; Ctrl+C stops it)"
        exec_ztoq --publish "127.0.0.1:$DASHBOARD_PORT:$C_DASHBOARD_PORT" -- \
            dashboard --config "$IN_CONFIG" --host 0.0.0.0 --port "$C_DASHBOARD_PORT"
        ;;
    *)
        die "unknown command '$COMMAND'; the commands are setup, run, status, report, dashboard and help."
        ;;
esac
