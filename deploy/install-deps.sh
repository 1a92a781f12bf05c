#!/bin/sh
# Installs the Debian packages zflow needs to build, test and run, if any is missing.
# Idempotent and quiet when everything is present; works as root or through sudo.
set -eu

PACKAGES="build-essential cmake pkg-config
libczmq-dev libzmq3-dev libmsgpack-dev libpq-dev libwebsockets-dev libcmocka-dev
libsqlite3-dev libyaml-dev libjansson-dev
clang libclang-rt-14-dev clang-format
postgresql tzdata python3 python3-zmq python3-msgpack"

# Extra groups a caller may ask for: web (to build the dashboard), browser (its tests).
for extra in "$@"; do
    case "$extra" in
        browser) PACKAGES="$PACKAGES chromium nodejs npm" ;;
        web) PACKAGES="$PACKAGES nodejs npm" ;;
        *) echo "install-deps: unknown group '$extra'" >&2; exit 2 ;;
    esac
done

missing=""
for p in $PACKAGES; do
    # nodejs/npm may come from elsewhere already; accept a working command.
    case "$p" in
        nodejs) command -v node >/dev/null 2>&1 && continue ;;
        npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-deps: missing packages:$missing (run as root or install sudo)" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
