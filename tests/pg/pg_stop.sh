#!/bin/sh
# pg_stop.sh OUT - stops the server pg_start.sh started and removes its folder.
set -u
out=${1:?usage: pg_stop.sh OUT}
[ -f "$out/pg.dir" ] || exit 0
dir=$(cat "$out/pg.dir")
rm -f "$out/pg.uri" "$out/pg.base" "$out/pg.dir"
case "$dir" in
    /tmp/zflow-pg.*) ;;
    *) echo "pg_stop: refusing to remove $dir" >&2; exit 1 ;;
esac
bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bindir" ] && command -v pg_config >/dev/null 2>&1; then
    bindir=$(pg_config --bindir)
fi
as=""
[ "$(id -u)" = 0 ] && as="runuser -u postgres --"
if [ -n "$bindir" ] && [ -f "$dir/data/postmaster.pid" ]; then
    $as "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
fi
rm -rf "$dir"
