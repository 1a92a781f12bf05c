#!/bin/sh
# Prepares the browser tests: builds the dashboard (web/build.sh) and installs this folder's
# node packages with `npm ci` when node_modules is missing or older than package-lock.json.
# Idempotent and quiet; CTest runs it as the fixture the browser tests require.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
"$here/../../web/build.sh"
cd "$here"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cat node_modules/.zflow-lock 2>/dev/null || true)
if [ ! -d node_modules/playwright-core ] || [ "$want" != "$have" ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >node_modules/.zflow-lock
fi
