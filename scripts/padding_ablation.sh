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
#      b leaves a gap to the paper, and only on the cells where it does (--problems, --models)
# then the ablation table of every arm and their mechanism checks side by side
# (python -m project.padding_ablation --mechanism).
#
#   scripts/padding_ablation.sh [--arms a,b,c] [--workers N] [--profile cpu|gpu]
#                               [--problems adding,multiply] [--models attention_tanh,baseline]
#                               [--results DIR] [--runs DIR] [--dry-run]
#
# An arm that finishes is kept in DIR/<profile>-<arm>/ (default DIR docs/results/padding_ablation):
# its per-seed and per-rate CSVs, table, invocations log and the mechanism check of its runs
# (python -m project.length_mechanism); a later invocation, in this checkout or a clone, reads
# the kept arm instead of training it again (remove the folder to rerun it). An arm stopped
# part way (a signal, Ctrl-C) keeps what its finished runs show in DIR/<profile>-<arm>-unfinished/
# (the same files); the same command, rerun on this machine or in a clone, continues from there
# (the rates it covers are not run again: reproduce_raffel2016.sh --earlier).
# The runs go to --runs DIR (default runs/): raffel2016_<profile>-<arm>/, arm (a)'s to
# raffel2016_cpu_5seeds/. --profile gpu: the arms at T0 = 5000 and 10000 (100 epochs, seeds 0-4;
# a GPU). --problems, --models: the problems and models the arms b, c and d train (arm (a) is
# Table 1: all of them); the ablation table says "not run" for the others.
set -uo pipefail
cd "$(dirname "$0")/.."
arms=a,b,c; workers=2; profile=cpu; dry=(); results=docs/results/padding_ablation; runs=runs
problems=adding,multiply; models=""  # "": project.raffel_waves' default, both models
while [[ $# -gt 0 ]]; do
  case $1 in
    --arms) arms=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --problems) problems=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --dry-run) dry=(--dry-run); shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
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

keep() {  # $1 folder: the table of the runs in $out (with what $before held), its invocations
          # and mechanism rows, written beside then moved in whole
  local dest=$1 tmp=$1.partial
  rm -rf "$tmp"; mkdir -p "$tmp"
  scripts/reproduce_raffel2016.sh "${args[@]}" --no-run --no-doc --table "$tmp/table_raffel2016.md" \
    > /dev/null || return 1
  [[ -f $out/overrides ]] && cp "$out/overrides" "$tmp/"
  # the invocations: the earlier snapshot's, then this folder's lines it does not have yet
  [[ -f $before/invocations.log ]] && cp "$before/invocations.log" "$tmp/"
  touch "$tmp/invocations.log"
  [[ -f $out/invocations.log ]] && grep -vxF -f "$tmp/invocations.log" "$out/invocations.log" \
    >> "$tmp/invocations.log"
  python -m project.length_mechanism "$out" --out "$tmp/mechanism.csv" \
    ${before_mech:+--earlier "$before_mech"} > /dev/null || return 1
  rm -rf "$dest" && mv "$tmp" "$dest"
}

columns=()
for arm in ${arms//,/ }; do
  [[ -n ${NAME[$arm]:-} ]] || { echo "error: --arms: unknown arm $arm (a, b, c, d)" >&2; exit 2; }
  kept=$results/$profile-$arm; unfinished=$kept-unfinished
  if [[ -f $kept/table_raffel2016_seeds.csv ]]; then
    echo "arm $arm: kept in $kept (remove that folder to train it again)"
    columns+=("${NAME[$arm]}=$kept/table_raffel2016_seeds.csv"); continue
  fi
  before=""; before_mech=""  # what an earlier invocation kept of this arm's finished runs
  if [[ -f $unfinished/table_raffel2016_seeds.csv ]]; then
    before=$unfinished; echo "arm $arm: continues from $unfinished"
    [[ -f $unfinished/mechanism.csv ]] && before_mech=$unfinished/mechanism.csv
  fi
  if [[ $arm == a && $profile == cpu ]]; then  # Table 1 itself, T0 = 1000 at 5 seeds
    out=$runs/raffel2016_cpu_5seeds
    [[ -n $before ]] || before=$earlier  # the snapshot holds the earlier table's rows too
    args=("${common[@]}" --out "$out" --earlier "$before")
  else
    out=$runs/raffel2016_$profile-$arm
    # shellcheck disable=SC2086  # SETS holds whole options, split on purpose
    args=("${common[@]}" --lengths "$lengths" --problems "$problems" ${models:+--models "$models"}
          ${SETS[$arm]:-} --arm "$arm" --out "$out"
          ${before:+--earlier "$before"})
  fi
  # in the background, so that a stop (TERM, Ctrl-C) is passed on at once; the training stops
  # its runs, which checkpoint, and what it finished is then kept
  scripts/reproduce_raffel2016.sh "${args[@]}" &
  child=$!
  trap 'kill -TERM "$child" 2>/dev/null' TERM INT
  wait "$child"; status=$?
  while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
  trap - TERM INT
  (( ${#dry[@]} )) && { (( status == 0 )) || exit $status; continue; }
  if (( status != 0 )); then
    (( status == 2 )) && exit 2  # bad input, said in one line: nothing trained
    if keep "$unfinished"; then
      echo "arm $arm stopped: what it finished is kept in $unfinished; rerun the same command to continue" >&2
    else
      echo "arm $arm stopped; nothing finished to keep" >&2
    fi
    exit $status
  fi
  # the arm finished: keep what its runs showed (the runs folder does not travel)
  keep "$kept" || exit $?
  # the kept arm holds the snapshot's rows and invocations; arm (a)'s docs section names it
  [[ -d $unfinished && $arm != a ]] && rm -rf "$unfinished"
  columns+=("${NAME[$arm]}=$kept/table_raffel2016_seeds.csv")
done
(( ${#dry[@]} )) && exit 0
python -m project.padding_ablation "${columns[@]}" --lengths "$lengths" --mechanism \
  --out "$results/ablation_$profile.md" || exit $?
echo "ablation table: $results/ablation_$profile.md, the mechanism checks side by side in $results/ablation_${profile}_mechanism.md; each arm's own in $results/$profile-<arm>/"
