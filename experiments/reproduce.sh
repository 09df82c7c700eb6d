#!/usr/bin/env bash
# Every experiment of docs/reproduction.md and docs/exams.md, one command each, into OUT.
#   bash experiments/reproduce.sh [OUT]        (default: runs/reproduce)
# Finished runs are reused and partial ones resumed, so it can be re-run after an interruption.
set -euo pipefail
out=${1:-runs/reproduce}
# Tables 3 and 4
ilm baselines --env domains --config configs/baselines-task1.toml --out "$out/baselines-task1"
ilm baselines --env structures --config configs/baselines-task2.toml --out "$out/baselines-task2"
# Table 4 under both readings, and with 20 runs per seed (docs/reproduction.md, "Which reading")
python experiments/baseline_orderings.py --out "$out/baseline-orderings" "reading=no-repeat lr=3e-2 updates=40" \
  "reading=no-repeat lr=3e-2 updates=40 runs=20" "reading=alternation lr=1e-2 updates=20"
# Figure 2a/2b and Appendix C (Figures 3, 4): Task 1, students per teacher and embeddings
ilm sweep --config configs/task1-students-sweep.toml --out "$out/task1-students"
ilm sweep --config configs/task1-embeddings.toml --out "$out/task1-embeddings"
# Figure 2c/2d, Figure 5 and docs/exams.md: both tasks, fixed vs fresh feedback exams
for policy in fixed fresh; do
  ilm sweep --config configs/task2-12-students.toml --set exam.feedback=$policy --out "$out/task2-$policy"
  bash experiments/oracle_references.sh configs/task2-12-students.toml "$out/task2-$policy" --set exam.feedback=$policy
  ilm sweep --config configs/task1-cpu.toml --set exam.feedback=$policy --out "$out/task1-$policy"
  bash experiments/oracle_references.sh configs/task1-cpu.toml "$out/task1-$policy" --set exam.feedback=$policy
done
# Task 2 taught by the value-bandit teacher (a memory of every lesson and reward)
ilm sweep --config configs/task2-value-bandit.toml --out "$out/task2-value-bandit"
bash experiments/oracle_references.sh configs/task2-value-bandit.toml "$out/task2-value-bandit"
ilm sweep --config configs/task2-value-bandit.toml --set teacher.commit_last=0 --out "$out/task2-value-bandit-thompson"
# what it ended up favouring, and whether its favourite lessons beat all-Structure-1 ones
ilm inspect "$out/task2-value-bandit/default/seed-4527" --top 12
python experiments/favourite_lesson.py "$out"/task2-value-bandit/default/seed-* --json "$out/task2-value-bandit-favourites.json"
# the value-bandit teacher under the no-repeat reading (Table 4's)
ilm sweep --config configs/task2-value-bandit-no-repeat.toml --out "$out/task2-value-bandit-no-repeat"
bash experiments/oracle_references.sh configs/task2-value-bandit-no-repeat.toml "$out/task2-value-bandit-no-repeat"
ilm inspect "$out/task2-value-bandit-no-repeat/default"
for name in task1-students task1-embeddings task2-fixed task2-fresh task1-fixed task1-fresh task2-value-bandit \
    task2-value-bandit-no-repeat; do
  ilm report "$out/$name" --out "$out/report-$name"
done
# docs/figures/task2-value-bandit-figure2.png: committed, Thompson to the end and select-bin side by side
ilm report "$out/task2-value-bandit" "$out/task2-value-bandit-thompson" "$out/task2-fresh" --out "$out/report-task2-teachers"
