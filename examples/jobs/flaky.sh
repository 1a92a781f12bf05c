#!/bin/sh
# Fails its first attempt, as a step that times out once in a while would; the retry succeeds.
set -eu
echo "$ZFLOW_TASK attempt $ZFLOW_ATTEMPT on $ZFLOW_EXECUTOR"
if [ "$ZFLOW_ATTEMPT" -lt 2 ]; then
    echo "upstream risk engine did not answer" >&2
    exit 3
fi
echo "$ZFLOW_TASK done"
