#!/usr/bin/env bash
# The road-map step studies of docs/roadmap-studies.md: every variant of one task (task1 or task2)
# over the paper's five seeds, then the table. Sweeps reuse finished runs, so a stopped study resumes.
#   experiments/roadmap_studies.sh task1 [runs/roadmap-studies]
set -euo pipefail
task=${1:?usage: roadmap_studies.sh task1|task2 [out]}
out=${2:-runs/roadmap-studies}
variants="all-at-once send-in-batches mid-term-exams ask-for-feedback know-when-to-stop select-useful students-for-the-run"
for variant in oracle ${variants}; do
  ilm sweep --config "configs/roadmap-studies/${task}-${variant}.toml" --out "${out}/${task}-${variant}"
done
# the oracle under each protocol that changes how students train: the reference it is measured against
for variant in send-in-batches mid-term-exams know-when-to-stop select-useful students-for-the-run; do
  ilm sweep --config "configs/roadmap-studies/${task}-oracle-${variant}.toml" --out "${out}/${task}-oracle-${variant}"
done
python experiments/roadmap_studies.py "${out}" --task "${task}"
