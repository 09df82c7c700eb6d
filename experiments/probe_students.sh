#!/usr/bin/env bash
# quick probes (not a study): run one config per line of "NAME ARGS..." on the given seeds; print held-out means
set -euo pipefail
out=$1; shift; seeds=$1; shift
export ILM_THREADS=1
for seed in $seeds; do
  while read -r name args; do
    [ -z "$name" ] && continue
    dir=$out/$name/seed-$seed
    [ -f "$dir/summary.json" ] || nice -n 10 ilm run --seed "$seed" --out "$dir" --quiet $args > /dev/null
    python -c "import json,sys,statistics as st; r=[json.loads(l) for l in open('$dir/metrics.jsonl')]; print('$name', $seed, round(st.fmean(x['heldout_perplexity_mean'] for x in r),3))"
  done < <(printf '%s\n' "$@")
done
