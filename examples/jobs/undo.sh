#!/bin/sh
# Rollback of an interrupted step: removes what a partial attempt may have written.
set -eu
echo "rolling back $ZFLOW_TASK ${ZFLOW_SHARD_KEY:-} before attempt $ZFLOW_ATTEMPT"
