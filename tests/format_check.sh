#!/bin/sh
# Checks that every C file of the tree follows .clang-format (`make format` fixes them).
# usage: tests/format_check.sh SOURCE_DIR
set -eu
cd "$1"
files=$(find libs services tools tests bench examples -name '*.[ch]' -not -path '*/node_modules/*' | sort)
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files
