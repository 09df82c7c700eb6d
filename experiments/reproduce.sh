#!/usr/bin/env bash
# Every experiment of docs/reproduction.md, docs/beyond-the-paper.md and docs/exams.md, one
# command each, into OUT (default runs/). Finished runs are reused and partial ones resumed, so
# it can be re-run after an interruption.
#   bash experiments/reproduce.sh [OUT]
set -euo pipefail
out=${1:-runs}
paper=6639,7519,1007,4520,4527
# One student recipe per task, chosen on seeds 11-13 (the rule is in the script's docstring)
for task in 1 2; do python experiments/choose_recipe.py --task $task --out "$out/choose-recipe-task$task"; done
# why not the paper's update counts (docs/beyond-the-paper.md, "Student recipe studies")
python experiments/recipe_study.py --env domains --seeds 6639 --updates 20,50,100,400 --lrs 1e-3
# Tables 2-4: baselines with that recipe; Table 4's overlaps under the other reading
ilm baselines --env domains --config configs/baselines-task1.toml --out "$out/baselines-task1"
ilm baselines --env structures --config configs/baselines-task2.toml --out "$out/baselines-task2"
ilm baselines --env structures --config configs/baselines-task2.toml --set environment.params.reading=alternation \
  --out "$out/baselines-task2-alternation"
# Figure 2a/2b and Appendix C (Figures 3, 4): Task 1, students per teacher and embeddings
ilm sweep --config configs/task1-students-sweep.toml --out "$out/task1-students"
ilm report "$out/task1-students" --out "$out/report-task1-students"
ilm sweep --config configs/task1-embeddings.toml --out "$out/task1-embeddings"
ilm report "$out/task1-embeddings" --out "$out/report-task1-embeddings"
# Headline teachers over ten seeds (select-bin, value-bandit; fresh and fixed exams), Figure 2c/2d, Figure 5
for task in 1 2; do
  for teacher in select-bin value-bandit; do
    ilm sweep --config configs/task$task-$teacher.toml --out "$out/task$task-$teacher"
  done
  for policy in fresh fixed; do
    bash experiments/oracle_references.sh configs/task$task-select-bin.toml "$out/oracle-task$task-$policy" \
      --set exam.feedback=$policy
    ilm report "$out/task$task-select-bin/exam-feedback-$policy" "$out/task$task-value-bandit/exam-feedback-$policy" \
      "$out/oracle-task$task-$policy" --out "$out/report-task$task-$policy"
  done
  python experiments/seed_table.py "$out/report-task$task-fresh" "$out/report-task$task-fixed" --per-seed $paper
done
# Harder Task 1: overlapping domains (docs/beyond-the-paper.md)
ilm sweep --config configs/task1-overlap.toml --out "$out/task1-overlap"
bash experiments/oracle_references.sh configs/task1-overlap.toml "$out/oracle-task1-overlap"
ilm report "$out/task1-overlap" "$out/oracle-task1-overlap" --out "$out/report-task1-overlap"
python experiments/seed_table.py "$out/report-task1-overlap" --per-seed $paper
# Paper presets: their settings (a full run needs a GPU and the fairseq extra; docs/reproduction.md)
ilm run --config configs/paper-task1.toml --dry-run
ilm run --config configs/paper-task2.toml --dry-run
# ... and their baselines on one seed, reduced to three students (the fairseq extra; ~15 CPU-minutes each)
ilm baselines --env domains --config configs/paper-task1.toml --set device=cpu --set executor=auto --seeds 6639 --runs 3 --out "$out/paper-task1-baselines"
ilm baselines --env structures --config configs/paper-task2.toml --set device=cpu --set executor=auto --seeds 6639 --runs 3 --out "$out/paper-task2-baselines"
# The paper's regime: student recipes along lr x updates, the chosen recipe on ten seeds, the paper's combination
for stage in ratios teachers chosen combination report; do
  python experiments/regime_study.py "$stage" --out "$out/regime"
done
