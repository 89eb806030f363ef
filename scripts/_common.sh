# shellcheck shell=bash
# Shared helpers for scripts/run, scripts/test and scripts/pg_throwaway.sh. Source it; don't run it.
# The caller has already done `set -euo pipefail` and cd'd to the repository root.

if [[ -n ${_INSIDESALES_COMMON_LOADED:-} ]]; then
    return 0
fi
_INSIDESALES_COMMON_LOADED=1

say() { printf '%s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# ---- exit hooks: functions run in reverse order when the script exits (normally, on error or on a signal)
_EXIT_HOOKS=()
_run_exit_hooks() {
    local i
    for ((i = ${#_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
        "${_EXIT_HOOKS[i]}" || true
    done
    _EXIT_HOOKS=()
}
on_exit() {
    if ((${#_EXIT_HOOKS[@]} == 0)); then
        trap _run_exit_hooks EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
    fi
    _EXIT_HOOKS+=("$1")
}

# ---- root and Debian packages
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        say "error: need root (or sudo) to run: $*"
        return 1
    fi
}

_APT_UPDATED=
apt_install() {
    command -v apt-get >/dev/null 2>&1 || {
        say "error: apt-get not found; install these packages by hand: $*"
        return 1
    }
    if [[ -z $_APT_UPDATED ]]; then
        say "-- apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
        _APT_UPDATED=1
    fi
    say "-- apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# ---- Python virtual environment in .venv
ensure_python() {
    if ! command -v python3 >/dev/null 2>&1; then
        apt_install python3 python3-venv || return 1
    fi
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "Python 3.11 or newer is needed; python3 is $(python3 --version 2>&1)"
    # Debian splits venv/ensurepip into python3-venv; without it `python3 -m venv` makes a venv with no pip.
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        apt_install python3-venv || return 1
    fi
}

ensure_venv() {
    if [[ -e .venv ]] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
        say "-- .venv is incomplete or broken (no working python/pip): recreating it"
        rm -rf .venv
    fi
    if [[ ! -e .venv ]]; then
        ensure_python
        say "-- creating .venv"
        python3 -m venv .venv
    fi
}

# pip_install_project [EXTRA] — `pip install -e .` (or `.[EXTRA]`) unless pyproject.toml is unchanged
# since the last such install (a stamp file under .venv/ records its hash).
pip_install_project() {
    local extra=${1:-}
    local spec=. stamp=.venv/.insidesales-installed
    if [[ -n $extra ]]; then
        spec=".[$extra]"
        stamp="$stamp-$extra"
    fi
    local want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [[ -f $stamp && $(<"$stamp") == "$want" && -x .venv/bin/insidesales ]]; then
        return 0
    fi
    say "-- pip install -e '$spec'"
    rm -f "$stamp"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
    printf '%s\n' "$want" >"$stamp"
    # An install with extras also installs the base package.
    if [[ -n $extra ]]; then
        printf '%s\n' "$want" >.venv/.insidesales-installed
    fi
}
