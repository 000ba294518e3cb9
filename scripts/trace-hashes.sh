#!/usr/bin/env bash
# Prints "workload seed traceHash passed" for seeds A..B of both simulator
# workloads (raft-kv and objects), so a refactor can prove it changed no
# behaviour: run it before and after, then diff the two files.
#   scripts/trace-hashes.sh 1..300 > before.txt   # on the old commit
#   scripts/trace-hashes.sh 1..300 > after.txt    # on the new one
#   diff before.txt after.txt && echo "same traces"
# CAIRN_SIM_WORKERS (default 2) spreads the seeds over threads; results do not depend on it.
set -euo pipefail
range=${1:?usage: scripts/trace-hashes.sh A..B}
cd "$(dirname "$0")/.."
for workload in raft-kv objects; do
  node bin/cairn.js sim --workload "$workload" --seeds "$range" --workers "${CAIRN_SIM_WORKERS:-2}" --json |
    jq -r --arg w "$workload" 'select(.seed != null) | "\($w) \(.seed) \(.traceHash) \(.result)"' |
    sort -k1,1 -k2,2n
done
