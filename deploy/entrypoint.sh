#!/usr/bin/env bash
# Container and batch-job entrypoint: `predict` for this task's shard of the photo list.
#   Kubernetes Indexed Job: JOB_COMPLETION_INDEX (0 .. completions-1); set SHARD_COUNT to .spec.completions.
#   Slurm job array:        SLURM_ARRAY_TASK_ID (from SLURM_ARRAY_TASK_MIN, 0 by default), SLURM_ARRAY_TASK_COUNT.
#   Anything else:          SHARD_INDEX and SHARD_COUNT, or no sharding at all (0/1).
# Every argument is passed on to `mobileunet predict`. MOBILEUNET_CMD names the program (default: mobileunet).
set -euo pipefail

index="" count="${SHARD_COUNT:-}"
if [ -n "${JOB_COMPLETION_INDEX:-}" ]; then
  index=$JOB_COMPLETION_INDEX
elif [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
  index=$(( SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} ))
  count=${count:-${SLURM_ARRAY_TASK_COUNT:-}}
elif [ -n "${SHARD_INDEX:-}" ]; then
  index=$SHARD_INDEX
fi

shard=()
if [ -n "$index" ]; then
  if [ -z "$count" ]; then
    echo "error: shard index $index is set but the shard count is not (set SHARD_COUNT to the number of tasks)" >&2
    exit 2
  fi
  case "$index$count" in *[!0-9]*)
    echo "error: shard index '$index' and count '$count' must be whole numbers" >&2
    exit 2 ;;
  esac
  shard=(--shard "$index/$count")
fi

# Word splitting of MOBILEUNET_CMD is wanted: it may be "dotnet /app/MobileUNet.Cli.dll".
# shellcheck disable=SC2086
exec ${MOBILEUNET_CMD:-mobileunet} predict "${shard[@]}" "$@"
