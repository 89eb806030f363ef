#!/usr/bin/env bash
# PostgreSQL for the test suite: pick a server, or start a throwaway cluster.
#
# Sourced by scripts/test for its functions. Run directly, it starts a throwaway cluster (initdb in a
# temporary folder, trust auth, user postgres, 127.0.0.1 on a free port), runs the given command with
# DATABASE_URL pointing at it, then stops the cluster and deletes the folder:
#
#   scripts/pg_throwaway.sh .venv/bin/python -m pytest -q
#   scripts/pg_throwaway.sh               # no command: print DATABASE_URL and wait for Ctrl-C
#
# Functions:
#   pg_is_postgres_url URL      true if URL is a PostgreSQL URL
#   pg_redact_url URL           URL without its password
#   pg_local_answers HOST PORT  true if a PostgreSQL server answers there
#   pg_can_connect URL          true if `select 1` works over URL without a password prompt
#   pg_throwaway_start          start a cluster; sets PG_THROWAWAY_URL; stops and deletes it on exit
#   pg_throwaway_stop           stop and delete it now
#   pg_choose_url [URL]         set PG_URL: URL if it is PostgreSQL; else 127.0.0.1:5432 as postgres if that
#                               works; else a throwaway cluster (INSIDESALES_TEST_PG=throwaway forces it)

_pg_here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scripts/_common.sh
source "$_pg_here/_common.sh"

PG_TMP=
PG_BINDIR=
PG_RUN_AS=()
PG_THROWAWAY_URL=
PG_URL=

_pg_python() {
    if [[ -x $_pg_here/../.venv/bin/python ]]; then
        printf '%s\n' "$_pg_here/../.venv/bin/python"
    else
        printf '%s\n' python3
    fi
}

pg_is_postgres_url() {
    [[ ${1:-} =~ ^(postgres|postgresql|pgsql|postgis)(\+[A-Za-z0-9_]+)?:// ]]
}

pg_redact_url() {
    sed -E 's#^([A-Za-z0-9+.-]+://[^/@:]*):[^/@]*@#\1@#' <<<"$1"
}

pg_local_answers() {
    local host=$1 port=$2
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 3
    else
        "$(_pg_python)" - "$host" "$port" <<'EOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
except OSError:
    sys.exit(1)
EOF
    fi
}

pg_can_connect() {
    local url=$1
    if command -v psql >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=5 psql -w -X -q -At -d "$url" -c 'select 1' >/dev/null 2>&1
    else
        "$(_pg_python)" - "$url" >/dev/null 2>&1 <<'EOF'
import sys
import psycopg
psycopg.connect(sys.argv[1], connect_timeout=5).execute("select 1").fetchone()
EOF
    fi
}

_pg_find_bindir() {
    local dir
    # shellcheck disable=SC2012 # version-sorted list of a fixed, well-known path
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1) || true
    [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]] || return 1
    printf '%s\n' "$dir"
}

_pg_free_port() {
    "$(_pg_python)" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Run a PostgreSQL server binary as the unprivileged owner of the cluster, from inside the cluster's folder.
_pg_as_owner() {
    (cd "$PG_TMP" && "${PG_RUN_AS[@]}" "$@")
}

pg_throwaway_start() {
    if ! PG_BINDIR=$(_pg_find_bindir); then
        say "-- no PostgreSQL server binaries found: installing Debian's postgresql"
        apt_install postgresql || return 1
        PG_BINDIR=$(_pg_find_bindir) || {
            say "error: PostgreSQL installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
            return 1
        }
    fi

    local base=${TMPDIR:-/tmp} owner=
    PG_RUN_AS=()
    if [[ $(id -u) -eq 0 ]]; then
        # The server refuses to run as root: run it as postgres (made by Debian's package), else our own user.
        base=/tmp # reachable by that user, whatever TMPDIR is
        owner=postgres
        if ! id -u "$owner" >/dev/null 2>&1; then
            owner=insidesales-pg
            if ! id -u "$owner" >/dev/null 2>&1; then
                useradd --system --user-group --no-create-home --home-dir /nonexistent \
                    --shell /usr/sbin/nologin "$owner" || return 1
            fi
        fi
        PG_RUN_AS=(runuser -u "$owner" --)
    fi

    PG_TMP=$(mktemp -d "$base/insidesales-pg.XXXXXX") || return 1
    on_exit pg_throwaway_stop
    mkdir "$PG_TMP/sock" || return 1
    if [[ -n $owner ]]; then
        chown -R "$owner:" "$PG_TMP" || return 1
    fi

    local locale_opts=(--no-locale)
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale_opts=(--locale=C.UTF-8) # so lower()/upper() handle Cyrillic, unlike the C locale
    fi
    if ! _pg_as_owner "$PG_BINDIR/initdb" -D "$PG_TMP/data" -A trust -U postgres -E UTF8 "${locale_opts[@]}" \
        >"$PG_TMP/initdb.log" 2>&1; then
        say "error: initdb failed:"
        cat "$PG_TMP/initdb.log" >&2
        return 1
    fi

    local attempt port
    for attempt in 1 2 3; do
        port=$(_pg_free_port) || return 1
        if _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TMP/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            PG_THROWAWAY_URL="postgres://postgres@127.0.0.1:$port/postgres"
            say "-- throwaway PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}') in $PG_TMP on 127.0.0.1:$port"
            return 0
        fi
        say "-- throwaway PostgreSQL did not start on port $port (attempt $attempt):"
        tail -n 20 "$PG_TMP/server.log" >&2 || true
    done
    return 1
}

pg_throwaway_stop() {
    [[ -n $PG_TMP && -d $PG_TMP ]] || return 0
    if [[ -f $PG_TMP/data/postmaster.pid ]]; then
        _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            _pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
            true
    fi
    rm -rf "$PG_TMP"
    PG_TMP=
}

# shellcheck disable=SC2034 # PG_URL is read by the scripts that source this file
pg_choose_url() {
    local given=${1:-} local_url=postgres://postgres@127.0.0.1:5432/postgres
    PG_URL=
    if [[ ${INSIDESALES_TEST_PG:-auto} != throwaway ]]; then
        if [[ -n $given ]] && pg_is_postgres_url "$given"; then
            PG_URL=$given
            return 0
        fi
        if [[ -n $given ]]; then
            say "-- DATABASE_URL is not a PostgreSQL URL; looking for a server"
        fi
        if pg_local_answers 127.0.0.1 5432; then
            if pg_can_connect "$local_url"; then
                PG_URL=$local_url
                return 0
            fi
            say "-- a server answers on 127.0.0.1:5432 but user postgres cannot connect without a password"
        fi
    fi
    pg_throwaway_start || return 1
    PG_URL=$PG_THROWAWAY_URL
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    pg_throwaway_start || die "could not start a throwaway PostgreSQL cluster"
    export DATABASE_URL=$PG_THROWAWAY_URL
    say "DATABASE_URL=$DATABASE_URL"
    if (($# == 0)); then
        say "(waiting; Ctrl-C stops the cluster and deletes its files)"
        while true; do
            sleep 3600 &
            wait $! # unlike a foreground sleep, `wait` lets the signal traps run at once
        done
    fi
    rc=0
    "$@" || rc=$?
    exit "$rc"
fi
