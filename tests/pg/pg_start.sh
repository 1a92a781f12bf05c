#!/bin/sh
# pg_start.sh OUT - starts a private PostgreSQL server for the tests labelled "pg".
#
# Makes a temporary folder, runs initdb and pg_ctl start in it (as the
# postgres user when run as root: the server refuses to run as root),
# listening on a Unix socket in that folder and on a free port of
# 127.0.0.1, and creates the database zflow_test. Writes into OUT:
#   pg.uri   postgresql://postgres@127.0.0.1:PORT/zflow_test
#   pg.base  the same without the database, for tests that make their own
#   pg.dir   the temporary folder, for pg_stop.sh
# The server's binaries come from PG_BINDIR, else the newest
# /usr/lib/postgresql/*/bin, else pg_config --bindir.
set -eu
out=${1:?usage: pg_start.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# A server a previous start left (a repeated fixture, a crash) goes first.
if [ -f "$out/pg.dir" ]; then
    sh "$(dirname "$0")/pg_stop.sh" "$out"
fi
rm -f "$out/pg.uri" "$out/pg.base" "$out/pg.dir"

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bindir" ] && command -v pg_config >/dev/null 2>&1; then
    bindir=$(pg_config --bindir)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
    echo "pg_start: no PostgreSQL server binaries (set PG_BINDIR)" >&2
    exit 1
fi

dir=$(mktemp -d /tmp/zflow-pg.XXXXXX)
echo "$dir" >"$out/pg.dir"
cd "$dir"
as=""
if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    as="runuser -u postgres --"
fi

if ! $as "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C \
        >"$dir/initdb.log" 2>&1; then
    echo "pg_start: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
fi

# A free port can be taken between the check and the start: try a few.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
started=""
for try in 1 2 3 4 5; do
    port=$(free_port)
    if $as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir" \
            start >/dev/null 2>&1; then
        started=yes
        break
    fi
done
if [ -z "$started" ]; then
    echo "pg_start: the server did not start:" >&2
    tail -n 20 "$dir/server.log" >&2
    exit 1
fi

$as "$bindir/createdb" -h "$dir" -p "$port" -U postgres zflow_test
echo "postgresql://postgres@127.0.0.1:$port" >"$out/pg.base"
echo "postgresql://postgres@127.0.0.1:$port/zflow_test" >"$out/pg.uri"
echo "pg_start: server on 127.0.0.1:$port, data in $dir"
