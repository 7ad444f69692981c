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
# then the ablation table (python -m project.padding_ablation, into docs/results/padding_ablation/)
# and the mechanism check (python -m project.length_mechanism) of every arm's runs.
#
#   scripts/padding_ablation.sh [--arms a,b,c] [--workers N] [--profile cpu|gpu] [--dry-run]
#
# --profile gpu: the arms at T0 = 5000 and 10000 (100 epochs, seeds 0-4; a GPU), into their own
# folders (runs/raffel2016_gpu-<arm>). Rerunning the same command continues where it stopped
# (finished runs are skipped; an arm that finished trains nothing).
set -uo pipefail
cd "$(dirname "$0")/.."
arms=a,b,c; workers=2; profile=cpu; dry=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --arms) arms=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --dry-run) dry=(--dry-run); shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
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
columns=(); folders=()
for arm in ${arms//,/ }; do
  [[ -n ${NAME[$arm]:-} ]] || { echo "error: --arms: unknown arm $arm (a, b, c, d)" >&2; exit 2; }
  if [[ $arm == a && $profile == cpu ]]; then  # Table 1 itself, T0 = 1000 at 5 seeds
    out=runs/raffel2016_cpu_5seeds
    scripts/reproduce_raffel2016.sh "${common[@]}" --out "$out" --earlier "$earlier" || exit $?
    seeds_csv=docs/results/raffel2016/table_raffel2016_seeds.csv
  else
    out=runs/raffel2016_$profile-$arm
    # shellcheck disable=SC2086  # SETS holds whole options, split on purpose
    scripts/reproduce_raffel2016.sh "${common[@]}" --lengths "$lengths" ${SETS[$arm]:-} \
      --arm "$arm" --out "$out" || exit $?
    seeds_csv=$out/table_raffel2016_seeds.csv
  fi
  columns+=("${NAME[$arm]}=$seeds_csv"); folders+=("$out")
done
(( ${#dry[@]} )) && exit 0
mkdir -p docs/results/padding_ablation
python -m project.padding_ablation "${columns[@]}" --lengths "$lengths" \
  --out "docs/results/padding_ablation/ablation_$profile.md" || exit $?
for out in "${folders[@]}"; do
  python -m project.length_mechanism "$out" --out "docs/results/padding_ablation/mechanism_$profile-$(basename "$out").csv" \
    > /dev/null || exit $?
done
echo "ablation table: docs/results/padding_ablation/ablation_$profile.md; mechanism CSVs beside it"
