#!/usr/bin/env bash
# Issue 29: why long addition disagrees with Raffel & Ellis. Each arm runs Table 1 at the
# paper's protocol (scripts/reproduce_raffel2016.sh: the four rates with the authors'
# abandoning; cpu profile: 10 epochs), addition and multiplication, T0 = 500 and 1000,
# seeds 0-4, both models, in its own folder:
#   a  masked pooling (today): Table 1 itself, T0 = 1000 grown from 2 to 5 seeds (the rest
#      from the committed table, docs/results/raffel2016/earlier_2026-12-02); it rewrites the
#      Table 1 section of docs/results.md
#   b  pooling over the padded width without the mask (the authors'): +task.net.padding=unmasked
#   c  fixed lengths, masking kept: task.data.variable_length=false
#   d  b plus the authors' markers and array width (+task.data.layout=authors): run it only if
#      b leaves a gap to the paper
# then the ablation table of every arm and their mechanism checks side by side
# (python -m project.padding_ablation --mechanism).
#
#   scripts/padding_ablation.sh [--arms a,b,c] [--workers N] [--profile cpu|gpu]
#                               [--results DIR] [--dry-run]
#
# An arm that finishes is kept in DIR/<profile>-<arm>/ (default DIR docs/results/padding_ablation):
# its per-seed and per-rate CSVs, table, invocations log and the mechanism check of its runs
# (python -m project.length_mechanism); a later invocation, in this checkout or a clone, reads
# the kept arm instead of training it again (remove the folder to rerun it). An arm stopped
# part way continues where it stopped when the same command is rerun on the same machine
# (finished runs are skipped).
# --profile gpu: the arms at T0 = 5000 and 10000 (100 epochs, seeds 0-4; a GPU), into their own
# folders (runs/raffel2016_gpu-<arm>).
set -uo pipefail
cd "$(dirname "$0")/.."
arms=a,b,c; workers=2; profile=cpu; dry=(); results=docs/results/padding_ablation
while [[ $# -gt 0 ]]; do
  case $1 in
    --arms) arms=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --dry-run) dry=(--dry-run); shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
case $profile in
  cpu) lengths=500,1000 ;;
  gpu) lengths=5000,10000 ;;
  *) echo "error: --profile $profile: expected cpu or gpu" >&2; exit 2 ;;
esac
declare -A SETS=([b]="--set +task.net.padding=unmasked"
                 [c]="--set task.data.variable_length=false"
                 [d]="--set +task.net.padding=unmasked --set +task.data.layout=authors")
declare -A NAME=([a]="(a) masked" [b]="(b) unmasked" [c]="(c) fixed length"
                 [d]="(d) unmasked, authors' layout")
earlier=docs/results/raffel2016/earlier_2026-12-02
common=(--profile "$profile" --seeds 0,1,2,3,4 --workers "$workers" "${dry[@]}")
columns=()
for arm in ${arms//,/ }; do
  [[ -n ${NAME[$arm]:-} ]] || { echo "error: --arms: unknown arm $arm (a, b, c, d)" >&2; exit 2; }
  kept=$results/$profile-$arm
  if [[ -f $kept/table_raffel2016_seeds.csv ]]; then
    echo "arm $arm: kept in $kept (remove that folder to train it again)"
    columns+=("${NAME[$arm]}=$kept/table_raffel2016_seeds.csv"); continue
  fi
  if [[ $arm == a && $profile == cpu ]]; then  # Table 1 itself, T0 = 1000 at 5 seeds
    out=runs/raffel2016_cpu_5seeds
    scripts/reproduce_raffel2016.sh "${common[@]}" --out "$out" --earlier "$earlier" || exit $?
  else
    out=runs/raffel2016_$profile-$arm
    # shellcheck disable=SC2086  # SETS holds whole options, split on purpose
    scripts/reproduce_raffel2016.sh "${common[@]}" --lengths "$lengths" ${SETS[$arm]:-} \
      --arm "$arm" --out "$out" || exit $?
  fi
  (( ${#dry[@]} )) && continue
  # the arm finished: keep what its runs showed (the runs folder does not travel)
  mkdir -p "$kept"
  for f in table_raffel2016.md table_raffel2016.csv table_raffel2016_seeds.csv invocations.log; do
    [[ -f $out/$f ]] && cp "$out/$f" "$kept/"
  done
  python -m project.length_mechanism "$out" --out "$kept/mechanism.csv" > /dev/null || exit $?
  columns+=("${NAME[$arm]}=$kept/table_raffel2016_seeds.csv")
done
(( ${#dry[@]} )) && exit 0
python -m project.padding_ablation "${columns[@]}" --lengths "$lengths" --mechanism \
  --out "$results/ablation_$profile.md" || exit $?
echo "ablation table: $results/ablation_$profile.md, the mechanism checks side by side in $results/ablation_${profile}_mechanism.md; each arm's own in $results/$profile-<arm>/"
