#!/usr/bin/env bash
# The data-selection comparison (docs/data-selection.md): select-bin, value-bandit, feedback-bin, odm,
# doremi, hard-examples, stratified, random and the privileged oracle, each in 3 rounds with mid-term
# exams (configs/selection-comparison.toml), ten seeds, on Task 1, the hidden-goal task, Task 2 and a
# small text environment, in that order. One `ilm sweep` (all ten seeds, in one process) per
# environment and teacher; resumable: finished runs are reused, partial ones resumed.
#   bash experiments/selection_study.sh [OUT]            (default runs/selection-study)
#   ILM_STUDY_ENVS="task1 goals" bash experiments/selection_study.sh     only these environments
#   python experiments/selection_table.py OUT            the table and docs/data/selection-comparison.csv
# Episodes: ILM_STUDY_LEARNER_EPISODES (default 20) for the teachers that learn across episodes
# (select-bin, value-bandit, feedback-bin, doremi), ILM_STUDY_FIXED_EPISODES (default 10) for those
# whose choice does not change across episodes (odm, hard-examples, stratified, random, oracle).
set -euo pipefail
out=${1:-runs/selection-study}
export ILM_THREADS=${ILM_THREADS:-1}      # one thread per sweep, ILM_STUDY_JOBS (default 2) sweeps at a time
export ILM_CACHE_DIR=${ILM_CACHE_DIR:-$out/cache}  # the teacher LM of each seed is pretrained once, shared
export out config=configs/selection-comparison.toml
export learn=${ILM_STUDY_LEARNER_EPISODES:-20} fixed=${ILM_STUDY_FIXED_EPISODES:-10}
envs=${ILM_STUDY_ENVS:-"task1 goals task2 text"}
teachers=${ILM_STUDY_TEACHERS:-"stratified random oracle odm hard-examples doremi select-bin value-bandit feedback-bin"}
sweep() {  # sweep ENV TEACHER
  local env=$1 teacher=$2 sets=()
  case $env in
    task1) ;;
    goals) sets+=(--set environment.goals=true) ;;
    task2) sets+=(--set environment.name=structures --set student.lr=0.01) ;;
    text) sets+=(--set environment.name=text --set environment.teacher_corpus_size=80
                 --set environment.pool_size=50 --set environment.exam_size=20
                 --set environment.exam_bank_size=60 --set environment.heldout_size=20
                 --set environment.tokenizer_vocabulary=500 --set environment.max_tokens=50) ;;
  esac
  case $teacher in
    select-bin|value-bandit|doremi) sets+=(--set episodes="$learn") ;;
    # the published table's feedback-bin hears each student's whole memory at the policy's rate (its
    # defaults: what sets each student apart, at a fifth of that rate)
    feedback-bin) sets+=(--set episodes="$learn" --set teacher.listen_lr=null --set teacher.individual_memory=false) ;;
    *) sets+=(--set episodes="$fixed") ;;
  esac
  # ODM's own exploration schedule is uniform for its first K ln K steps (two rounds an episode here)
  if [ "$teacher" = odm ]; then sets+=(--set teacher.exploration=0.02 --set teacher.lr=0.5); fi
  ilm sweep --config "$config" --out "$out/$env/$teacher" --set teacher.name="$teacher" "${sets[@]}" > "$out/$env/$teacher.log" 2>&1 \
    || echo "failed: $env $teacher (see $out/$env/$teacher.log)"
}
export -f sweep
for env in $envs; do mkdir -p "$out/$env"; done
for env in $envs; do for teacher in $teachers; do echo "$env $teacher"; done; done \
  | xargs -P "${ILM_STUDY_JOBS:-2}" -L 1 bash -c 'start=$(date +%s); sweep "$0" "$1"; echo "$0 $1 $(( $(date +%s) - start ))s"'
