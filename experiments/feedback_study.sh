#!/usr/bin/env bash
# The teacher-feedback study (docs/feedback.md): feedback-bin with feedback given and withheld,
# random and the privileged oracle, over ten seeds, on the hidden-goal task, on plain Task 1 (the
# control, where feedback should not matter) and on the hidden-goal task with two kinds of
# students (`mixed`: Transformer and LSTM students, configs/hidden-goals-mixed.toml); then
# feedback-bin given and withheld on the hidden-goal task with send-in-batches (a reward after
# every round), and feedback-bin given on Task 1 without the first round's probe (withheld, the
# teacher never probes, so that arm is Task 1's), and Task 1 given and withheld for 80 episodes
# (`task1-long`: does the withheld teacher catch up?), and Task 1 with one shared initialisation per
# episode (`task1-shared`: students differ only by their lessons), and Task 1 withheld with the
# probe kept (`feedback-withheld-probing`: only what comes back differs), and feedback shuffled
# among the students on Task 1 and the hidden-goal task (does it matter who scored what?). Then why
# the LSTM students of `mixed` gain less: the hidden-goal task with LSTM students only (`lstm`), and
# `mixed` given with each student compared only with its own kind (`mixed-peers-kind`) and with a
# weaker or stronger probe (`mixed-probe-P`; withheld, random and oracle are `mixed`'s, which
# neither setting changes). Then feedback-bin given listening along the probe's axis only
# (`teacher.listen_components=1`: `goals-axis`, `task1-axis`, `mixed-axis`; is the Task 1
# difference the listening along the other components?), and with every student given the
# students' mean memory (`teacher.pooled_memory=true`: `goals-pooled`, `task1-pooled`; is it
# listening to each student, or what the episode's feedback says overall?), and with each student
# given only its difference from that mean (`teacher.individual_memory=true`: `goals-individual`,
# `task1-individual`), and with the listening matrices learning at a fifth of the rate
# (`teacher.listen_lr=0.02`: `task1-individual-listen-lr`, `goals-individual-listen-lr`,
# `task1-listen-lr`, `goals-listen-lr`, `task1-long-listen-lr`; does listening to noise cost because
# Adam moves them anyway?), and on ten other seeds (201-210) the four teachers and the
# listen_lr=0.02 teacher on both tasks (`confirm-goals`, `confirm-task1` and their `-listen-lr`), and Task 1 with the
# same feedback exam every episode (`task1-fixed`, `exam.feedback=fixed`, the paper's, all four
# teachers, and `task1-fixed-pooled`: does the Task 1 advantage come from each episode's fresh
# exam?), and the same with every episode's students starting from the same initialisations
# (`task1-same`, `task1-same-pooled`, `student_init=same-every-episode`: then episodes differ only
# by their lessons). Then the hidden-goal task in batches and with two kinds of students with
# feedback-bin's default listening rate (`batches-listen-lr`, `mixed-listen-lr`, all four arms),
# and the whole memory at that rate on the hidden-goal task and Task 1 with ten more seeds, 301-310
# (`confirm301-goals`, `confirm301-task1`), and on seeds 201-210 and 301-310 feedback-bin's default,
# hearing only what sets each student apart at that rate (`confirm-goals-individual`,
# `confirm-task1-individual`, `confirm301-goals-individual`, `confirm301-task1-individual`), and
# the default in batches and with two kinds of students (`batches-individual`, `mixed-individual`).
# Every feedback-bin arm but the `-listen-lr`, `confirm301-` and `-individual` tasks' listens at the
# policy's rate (`teacher.listen_lr=null`), and every arm but the `-individual` tasks' hears each
# student's whole memory (`teacher.individual_memory=false`); with feedback withheld neither
# changes anything. Fixed teachers' lessons and exams are those of the hidden-goal task and of
# Task 1. Resumable: finished runs are skipped.
#   bash experiments/feedback_study.sh [OUT]          (default runs/feedback-study)
#   python experiments/feedback_study.py OUT          the tables
set -euo pipefail
out=${1:-runs/feedback-study}
export ILM_THREADS=${ILM_THREADS:-1}  # one thread per run, ILM_STUDY_JOBS (default 2) runs at a time
config=configs/hidden-goals.toml
seeds=$(python -c 'import sys, tomllib; print(*tomllib.load(open(sys.argv[1], "rb"))["sweep"]["seeds"])' "$config")
run() {  # run DIR ARGS...: one run, skipped when finished, resumed when interrupted
  local dir=$1; shift
  if [ -f "$dir/summary.json" ]; then return; fi
  if [ -f "$dir/config.json" ]; then ilm run --resume "$dir" --quiet > /dev/null; return; fi
  ilm run --out "$dir" --quiet "$@" > /dev/null  # the arguments name the config
}
jobs=()
goals="--config $config"                                  # the hidden-goal task
task1="--config $config --set environment.goals=false"    # plain Task 1, the control
mixed="--config configs/hidden-goals-mixed.toml"          # two kinds of students
inbatches="--interaction send-in-batches --set interaction.rounds=3"  # every round rewards the teacher
slow="--set teacher.listen_lr=0.02"                       # the listening matrices at a fifth of the policy's rate (the default)
fast="--set teacher.listen_lr=null"                       # ... at the policy's rate: every feedback-bin arm but the -listen-lr, confirm301- and -individual tasks'
listen=$fast                                              # the rate of the feedback-bin arms below, until changed
whole="--set teacher.individual_memory=false"             # each student's whole memory: every arm but the -individual tasks'
apart="--set teacher.individual_memory=true"              # only what sets each student apart (the default)
# given DIR SEED EPISODES ARGS...: feedback-bin with feedback given, in DIR/feedback-given/seed-SEED
given() {
  local dir=$1 seed=$2 episodes=$3; shift 3
  jobs+=("$dir/feedback-given/seed-$seed --seed $seed --episodes $episodes $listen $whole $*")
}
# teachers DIR SEED EPISODES ARGS...: feedback-bin given and withheld for EPISODES, random and
# oracle for 20 (they do not learn), each in DIR/TEACHER/seed-SEED
teachers() {
  local dir=$1 seed=$2 episodes=$3; shift 3
  given "$dir" "$seed" "$episodes" "$@"
  jobs+=("$dir/feedback-withheld/seed-$seed --seed $seed --episodes $episodes $listen $whole --set teacher_feedback=withheld $*")
  jobs+=("$dir/random/seed-$seed --seed $seed --episodes 20 --teacher random $*")
  jobs+=("$dir/oracle/seed-$seed --seed $seed --episodes 20 --teacher oracle $*")
}
for seed in $seeds; do
  teachers "$out/goals" "$seed" 60 $goals
  teachers "$out/task1" "$seed" 40 $task1
  teachers "$out/mixed" "$seed" 40 $mixed
done
for seed in $seeds; do  # Task 1 again without the first round's probe: does listening matter there?
  given "$out/task1-noprobe" "$seed" 40 $task1 --set teacher.probe=0
done
for seed in $seeds; do  # Task 1 for 80 episodes: does the withheld teacher catch up with the given one?
  long="$task1 --seed $seed --episodes 80 $fast $whole"
  given "$out/task1-long" "$seed" 80 $task1
  jobs+=("$out/task1-long/feedback-withheld/seed-$seed $long --set teacher_feedback=withheld")
  jobs+=("$out/task1-long/feedback-shuffled/seed-$seed $long --set teacher_feedback=shuffled")
done
for seed in $seeds; do  # Task 1 withheld but probing as the given teacher does: only what comes back differs
  jobs+=("$out/task1/feedback-withheld-probing/seed-$seed $task1 --seed $seed --episodes 40 $fast $whole --set teacher_feedback=withheld --set teacher.probe_withheld=true")
done
for seed in $seeds; do  # Task 1 with identical students (one shared initialisation an episode): the control's premise
  teachers "$out/task1-shared" "$seed" 40 $task1 --set student_init=shared
done
for seed in $seeds; do  # the hidden-goal task with each student's scores moved to another student
  jobs+=("$out/goals/feedback-shuffled/seed-$seed $goals --seed $seed --episodes 60 $fast $whole --set teacher_feedback=shuffled")
done
for seed in $seeds; do  # send-in-batches, for as many episodes as the config says
  batches="$goals --seed $seed $fast $whole $inbatches"
  jobs+=("$out/batches/feedback-given/seed-$seed $batches")
  jobs+=("$out/batches/feedback-withheld/seed-$seed $batches --set teacher_feedback=withheld")
done
for seed in $seeds; do  # why the LSTM students gain less
  teachers "$out/lstm" "$seed" 40 $goals --set student.name=lstm-lm --set student.params.lr=0.003  # its default lr
  given "$out/mixed-peers-kind" "$seed" 40 $mixed --set teacher.peers=kind
  for probe in 0.5 1.0 3.0; do
    given "$out/mixed-probe-$probe" "$seed" 40 $mixed --set teacher.probe=$probe
  done
done
for seed in $seeds; do  # what the teacher listens to (withheld, random, oracle: goals', task1's and mixed's)
  axis="--set teacher.listen_components=1"
  given "$out/goals-axis" "$seed" 60 $goals $axis
  given "$out/task1-axis" "$seed" 40 $task1 $axis
  given "$out/mixed-axis" "$seed" 40 $mixed $axis
  pooled="--set teacher.pooled_memory=true"
  given "$out/task1-pooled" "$seed" 40 $task1 $pooled
  given "$out/goals-pooled" "$seed" 60 $goals $pooled
  given "$out/task1-individual" "$seed" 40 $task1 $apart
  given "$out/goals-individual" "$seed" 60 $goals $apart
  given "$out/task1-individual-listen-lr" "$seed" 40 $task1 $apart $slow
  given "$out/goals-individual-listen-lr" "$seed" 60 $goals $apart $slow
  given "$out/task1-listen-lr" "$seed" 40 $task1 $slow
done
for seed in $seeds; do  # Task 1 with one feedback exam for every episode (the paper's); then also the same students
  fixed="$task1 --set exam.feedback=fixed"
  for task in task1-fixed task1-same; do
    args=$fixed
    if [ "$task" = task1-same ]; then args="$fixed --set student_init=same-every-episode"; fi
    teachers "$out/$task" "$seed" 40 $args
    given "$out/$task-pooled" "$seed" 40 $args --set teacher.pooled_memory=true
  done
done
for seed in $seeds; do  # the listening matrices at a fifth of the rate, with each student's whole memory
  given "$out/goals-listen-lr" "$seed" 60 $goals $slow
  given "$out/task1-long-listen-lr" "$seed" 80 $task1 $slow
done
# the same on ten seeds no other task uses (201-210): the hidden-goal task and Task 1 with
# teacher.listen_lr=0.02, and Task 1 with the default (does its difference hold on other seeds?)
for seed in $(seq 201 210); do
  teachers "$out/confirm-goals" "$seed" 60 $goals
  teachers "$out/confirm-task1" "$seed" 40 $task1
  given "$out/confirm-goals-listen-lr" "$seed" 60 $goals $slow
  given "$out/confirm-task1-listen-lr" "$seed" 40 $task1 $slow
done
listen=$slow  # feedback-bin's default rate from here on: the hidden-goal task in batches and with two kinds of students, each with its own four arms
for seed in $seeds; do
  teachers "$out/batches-listen-lr" "$seed" 60 $goals $inbatches
  teachers "$out/mixed-listen-lr" "$seed" 40 $mixed
done
for seed in $(seq 301 310); do  # the whole memory at that rate on ten seeds no other task uses, all four arms
  teachers "$out/confirm301-goals" "$seed" 60 $goals
  teachers "$out/confirm301-task1" "$seed" 40 $task1
done
for seed in $(seq 201 210) $(seq 301 310); do  # only what sets each student apart, at that rate: the default
  set=$( [ "$seed" -lt 300 ] && echo confirm || echo confirm301 )
  given "$out/$set-goals-individual" "$seed" 60 $goals $apart
  given "$out/$set-task1-individual" "$seed" 40 $task1 $apart
done
for seed in $seeds; do  # the default in batches and with two kinds of students
  given "$out/batches-individual" "$seed" 60 $goals $inbatches $apart
  given "$out/mixed-individual" "$seed" 40 $mixed $apart
done
export -f run
printf '%s\n' "${jobs[@]}" | xargs -P "${ILM_STUDY_JOBS:-2}" -I{} bash -c 'run {}'
