#!/usr/bin/env bash
# Oracle reference runs (held-out baseline for `ilm report`) matching a config's environment,
# student and exam: 5 episodes x N students of oracle lessons per seed.
#   bash experiments/oracle_references.sh CONFIG OUT [--set exam.feedback=fixed ...]
set -euo pipefail
config=$1; out=$2; shift 2
for seed in 6639 7519 1007 4520 4527; do
  [ -f "$out/oracle-seed-$seed/summary.json" ] || \
    ilm run --config "$config" --teacher oracle --episodes 5 --seed "$seed" --quiet --out "$out/oracle-seed-$seed" "$@" > /dev/null
done
