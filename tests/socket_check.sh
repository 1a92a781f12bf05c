#!/bin/sh
# Checks that every ZeroMQ socket zflow opens comes from zf_socket_new, which
# sets its maximum frame size (docs/PROTOCOL.md, "Socket limits"). Only the
# PAIR sockets of inproc monitors, which no peer on the network reaches, are
# made otherwise.
# usage: tests/socket_check.sh SOURCE_DIR
set -eu
cd "$1"
found=$(grep -rnE 'zsock_new(_[a-z]+)? *\(|zmq_socket *\(' --include='*.c' libs services tools |
    grep -v '^libs/proto/zf_socket\.c:' | grep -v 'ZMQ_PAIR' || true)
if [ -n "$found" ]; then
    echo "sockets made without zf_socket_new (no maximum frame size):"
    echo "$found"
    exit 1
fi
echo "every socket comes from zf_socket_new"
