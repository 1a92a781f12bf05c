#!/bin/sh
# Builds the dashboard into web/dist/ (index.html, app.js, app.css). Idempotent and quiet:
# installs the node packages with `npm ci` only when node_modules is missing or older than
# package-lock.json, then bundles with esbuild. The result needs no network at run time.
set -eu
cd "$(dirname "$0")"

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
    echo "web/build.sh: node and npm are needed (./deploy/install-deps.sh browser)" >&2
    exit 1
}

# The lock's digest, kept inside node_modules, tells whether the installed tree is current.
want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cat node_modules/.zflow-lock 2>/dev/null || true)
if [ ! -x node_modules/.bin/esbuild ] || [ "$want" != "$have" ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >node_modules/.zflow-lock
fi

# Build next to dist/ and swap in whole files, so a gateway serving dist/ never sees half a bundle.
tmp=$(mktemp -d dist.tmp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
node_modules/.bin/esbuild src/main.ts --bundle --minify --format=iife --target=es2020 \
    --outfile="$tmp/app.js" --log-level=warning
node_modules/.bin/esbuild src/app.css --bundle --minify --outfile="$tmp/app.css" --log-level=warning
cp src/index.html "$tmp/index.html"
mkdir -p dist
for f in index.html app.js app.css; do
    mv -f "$tmp/$f" "dist/$f"
done
