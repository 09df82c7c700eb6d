#!/usr/bin/env bash
# Task 1 at vocabularies of 20 (the paper's), 100 and 1000 tokens: baselines and select-bin (12 episodes, 6 students),
# the five seeds, the teacher's CPU recipe (configs/task1-cpu.toml). Writes into $1 (default
# runs/vocabulary-sizes); finished sweep runs are reused. Then:
#   python experiments/vocabulary_table.py runs/vocabulary-sizes
set -euo pipefail
out=${1:-runs/vocabulary-sizes}
for v in 20 100 1000; do
  ilm baselines --env domains --config configs/task1-cpu.toml --set environment.vocabulary_size=$v \
    --out "$out/baselines-$v"
done
ilm sweep --config configs/task1-cpu.toml --set episodes=12 --set n_students=6 --grid environment.vocabulary_size=20,100,1000 --out "$out/select-bin"
# how far select-bin gets at 1000 tokens with more episodes (two seeds)
ilm sweep --config configs/task1-cpu.toml --set episodes=40 --set n_students=6 --seeds 6639,7519 \
  --grid environment.vocabulary_size=1000 --out "$out/select-bin-40"
