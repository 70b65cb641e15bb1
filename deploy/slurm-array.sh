#!/usr/bin/env bash
# Slurm job array: tasks 0..15, each `predict --shard K/16` (K = SLURM_ARRAY_TASK_ID) over a shared file system.
#   sbatch deploy/slurm-array.sh /shared/photos /shared/results
# A task that fails or is pre-empted can be resubmitted alone (sbatch --array=K ...): it skips the photos its
# manifest (results/manifest-K-of-16.jsonl) already records as done.
#SBATCH --job-name=mobileunet
#SBATCH --array=0-15
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=02:00:00
#SBATCH --output=logs/mobileunet-%A_%a.out
set -euo pipefail
in=${1:?usage: sbatch slurm-array.sh INPUT_DIR OUTPUT_DIR [predict options]}
out=${2:?usage: sbatch slurm-array.sh INPUT_DIR OUTPUT_DIR [predict options]}
shift 2
# SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT become --shard K/N in the entrypoint.
# sbatch runs a spooled copy of this script, so find the entrypoint from the submit folder (the repo root).
entrypoint=${MOBILEUNET_ENTRYPOINT:-${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}/deploy/entrypoint.sh}
exec "$entrypoint" "$in" -o "$out" --threads 1 "$@"
