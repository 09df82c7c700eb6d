#!/usr/bin/env bash
# Oracle reference runs (held-out baseline for `ilm report`) matching a config's environment,
# student and exam: 5 episodes x N students of oracle lessons for each seed of the config's
# [sweep] (the paper's five when it has none).
#   bash experiments/oracle_references.sh CONFIG OUT [--set exam.feedback=fixed ...]
set -euo pipefail
config=$1; out=$2; shift 2
seeds=$(python -c 'import sys, tomllib; print(*tomllib.load(open(sys.argv[1], "rb")).get("sweep", {}).get("seeds", [6639, 7519, 1007, 4520, 4527]))' "$config")
for seed in $seeds; do
  run="$out/oracle-seed-$seed"
  if [ -f "$run/summary.json" ]; then continue; fi
  if [ -f "$run/config.json" ]; then  # interrupted: finish it
    ilm run --resume "$run" --quiet > /dev/null
  else
    ilm run --config "$config" --teacher oracle --episodes 5 --seed "$seed" --quiet --out "$run" "$@" > /dev/null
  fi
done
