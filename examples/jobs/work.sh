#!/bin/sh
# A stand-in for a batch step: reports what it works on, takes a moment, succeeds.
set -eu
what="$ZFLOW_TASK"
[ -n "${ZFLOW_SHARD_KEY:-}" ] && what="$what/$ZFLOW_SHARD_KEY"
echo "$ZFLOW_FLOW $ZFLOW_DATE: $what (attempt $ZFLOW_ATTEMPT, shard $ZFLOW_SHARD_INDEX of $ZFLOW_SHARD_COUNT) on $ZFLOW_EXECUTOR"
sleep 0.$(( $(od -An -N1 -tu1 /dev/urandom) % 5 + 2 ))
echo "$what done"
