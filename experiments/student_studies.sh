#!/usr/bin/env bash
# The student-side studies (docs/students.md): each learner against its own ablation on ten seeds,
# the same seed for both arms (paired). Resumable: finished runs are skipped.
#   bash experiments/student_studies.sh [OUT] [STUDY...]     (default runs/student-studies, all studies)
#   python experiments/student_studies.py OUT                the tables
# Studies: experiment (answered vs unanswered), feedback (a judging LM's scores given vs withheld),
# trust (learned vs equal trust), stop (know-when-to-stop vs 20 updates vs a fixed early stop),
# select (select-useful's choice vs a random half, and vs training on the whole lesson).
set -euo pipefail
out=${1:-runs/student-studies}; shift || true
studies=${*:-experiment trust feedback stop select}
export ILM_THREADS=${ILM_THREADS:-1}  # one thread per run, ILM_STUDY_JOBS (default 1) runs at a time
seeds="6639 7519 1007 4520 4527 101 102 103 104 105"
run() {  # run DIR ARGS...: one run, skipped when finished, resumed when interrupted
  local dir=$1; shift
  if [ -f "$dir/summary.json" ]; then return; fi
  if [ -f "$dir/config.json" ]; then nice -n 10 ilm run --resume "$dir" --quiet > /dev/null; return; fi
  nice -n 10 ilm run --out "$dir" --quiet "$@" > /dev/null
}
export -f run
c=configs/student-studies
jobs=()
for study in $studies; do
  for seed in $seeds; do
    case $study in
      experiment)
        jobs+=("$out/experiment/answered/seed-$seed --seed $seed -c $c/experiment.toml")
        jobs+=("$out/experiment/unanswered/seed-$seed --seed $seed -c $c/experiment.toml --set interaction.answer=none")
        # which part of the answer helps: the unlikelihood alone, without training on the accepted sentences
        jobs+=("$out/experiment/unlikelihood-only/seed-$seed --seed $seed -c $c/experiment.toml --set student.learn_accepted=false") ;;
      feedback)
        jobs+=("$out/feedback/given/seed-$seed --seed $seed -c $c/feedback.toml")
        jobs+=("$out/feedback/withheld/seed-$seed --seed $seed -c $c/feedback.toml --set student_feedback=withheld") ;;
      trust)
        jobs+=("$out/trust/learned/seed-$seed --seed $seed -c $c/trust.toml")
        jobs+=("$out/trust/equal/seed-$seed --seed $seed -c $c/trust.toml --set student.trust=equal") ;;
      select)
        jobs+=("$out/select/worst-predicted/seed-$seed --seed $seed -c $c/select.toml")
        jobs+=("$out/select/random-half/seed-$seed --seed $seed -c $c/select.toml --set student.choose=random")
        jobs+=("$out/select/use-all/seed-$seed --seed $seed -c $c/select.toml --student transformer-lm") ;;
      stop)
        jobs+=("$out/stop/know-when-to-stop/seed-$seed --seed $seed -c $c/stop.toml")
        jobs+=("$out/stop/all-updates/seed-$seed --seed $seed -c $c/stop.toml --student transformer-lm --set student.lr=0.003") ;;
    esac
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P "${ILM_STUDY_JOBS:-1}" -I{} bash -c 'run {}'
case " $studies " in *" stop "*)
  # a fixed early stop at the stopping student's average number of updates (over all its runs)
  fixed=$(python experiments/student_studies.py "$out" --updates-used)
  printf '%s\n' $seeds | xargs -P "${ILM_STUDY_JOBS:-1}" -I{} bash -c \
    "run $out/stop/fixed-early-stop/seed-{} --seed {} -c $c/stop.toml --student transformer-lm --set student.lr=0.003 --set student.updates=$fixed" ;;
esac
