#!/usr/bin/env bash
# discover-gpus.sh: Spark's GPU discovery script for Anneal (docs/GPU.md).
#
# Spark runs it on each executor (spark.executor.resource.gpu.discoveryScript) or, in standalone mode, on each worker
# (spark.worker.resource.gpu.discoveryScript), and reads one JSON object from stdout:
#   {"name":"gpu","addresses":["0","1"]}
# The addresses are the GPUs' nvidia-smi indices. Anneal hands a task's address to ND4J as a CUDA device number, so
# run executors with CUDA_DEVICE_ORDER=PCI_BUS_ID (conf/spark-gpu.conf sets it): CUDA then numbers devices as
# nvidia-smi does. Where CUDA_VISIBLE_DEVICES is set, CUDA sees only those devices, renumbered from 0, and so the
# addresses printed are 0..n-1 for its n entries.
#
# No GPU, no nvidia-smi, or nvidia-smi failing: a message on stderr and exit 1 (Spark then fails the executor, or
# the worker, with that message rather than starting it without GPUs).
#
# Environment: NVIDIA_SMI, the nvidia-smi to run (default: nvidia-smi on PATH).
set -euo pipefail

readonly RESOURCE=gpu
nvidia_smi=${NVIDIA_SMI:-nvidia-smi}

fail() {
  echo "discover-gpus.sh on $(hostname 2>/dev/null || echo '?'): $*" >&2
  exit 1
}

if ! command -v "$nvidia_smi" > /dev/null 2>&1; then
  fail "'$nvidia_smi' not found (PATH=$PATH): is the NVIDIA driver installed on this node?"
fi

if ! listing=$("$nvidia_smi" --query-gpu=index --format=csv,noheader 2>&1); then
  fail "'$nvidia_smi --query-gpu=index --format=csv,noheader' failed: ${listing:-no output}"
fi

indices=()
while IFS= read -r line; do
  line=${line//[[:space:]]/}
  [[ -z $line ]] && continue
  [[ $line =~ ^[0-9]+$ ]] || fail "unexpected line from $nvidia_smi: '$line' (whole output: $listing)"
  indices+=("$line")
done <<< "$listing"

((${#indices[@]} > 0)) || fail "$nvidia_smi lists no GPU on this node"

if [[ -n ${CUDA_VISIBLE_DEVICES+set} ]]; then
  IFS=, read -r -a visible <<< "$CUDA_VISIBLE_DEVICES"
  indices=()
  for entry in "${visible[@]}"; do
    entry=${entry//[[:space:]]/}
    [[ -z $entry ]] && continue
    [[ $entry == -* ]] && break # CUDA stops at the first invalid entry ("-1" hides every GPU)
    indices+=("${#indices[@]}")
  done
  ((${#indices[@]} > 0)) || fail "CUDA_VISIBLE_DEVICES='$CUDA_VISIBLE_DEVICES' makes no GPU visible"
fi

json=""
for index in "${indices[@]}"; do
  json+="${json:+,}\"$index\""
done
printf '{"name":"%s","addresses":[%s]}\n' "$RESOURCE" "$json"
