#!/usr/bin/env bash
# The verdict's tables (docs/protocol.md), regenerated into docs/results.md:
#   main      conf/sweep/paper.yaml: 9 tasks x {attention, baseline} x 20 paired seeds, each
#             model at its own rate (task.model_lr, chosen on validation: project.select_lr)
#   shared    conf/sweep/paper_shared.yaml: the same at one shared rate per task (task.lr)
#   variants  conf/sweep/variants.yaml: 9 tasks x 6 models x 10 paired seeds; every variant
#             against mean pooling (one Holm family), then against max pooling (a second)
# Each: the sweep, the report (every variant against the control, mean pooling), and the
# section "## Main table" / "## Variants table" of docs/results.md (tables and figures in
# docs/results/<table>/). Choices made beforehand on validation data, with pilot seeds 0-4, in
# this order: scripts/select_on_validation.py (configs), conf/sweep/lr_tuning.yaml +
# python -m project.select_lr (each model's rate), scripts/pilot_targets.py (targets).
#
#   scripts/reproduce_paper.sh [--tables main,variants] [--workers N] [--rerun-stale]
#                              [--sweep-args "..."]  (e.g. "--vectorize-seeds 10")
#
# Rerunning skips finished runs; the full reports (report.html, SVGs) stay in runs/<table>.
set -uo pipefail
cd "$(dirname "$0")/.."
export WANDB_MODE=${WANDB_MODE:-offline} HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
tables=main,shared,variants; workers=2; stale=(); extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --tables) tables=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --rerun-stale) stale=(--rerun-stale); shift ;;
    --sweep-args) read -r -a extra <<< "$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
declare -A SPEC=([main]=paper [shared]=paper_shared [variants]=variants)
declare -A HEADING=([main]="## Main table" [shared]="## Main table at one shared rate"
                    [variants]="## Variants table")
status=0
for table in ${tables//,/ }; do
  [[ -n ${SPEC[$table]:-} ]] || { echo "error: --tables: unknown table $table" >&2; exit 2; }
  spec=conf/sweep/${SPEC[$table]}.yaml; out=runs/${SPEC[$table]}
  start=$(date +%s); load_start=$(cut -d' ' -f1-3 /proc/loadavg); commit=$(git rev-parse --short HEAD)
  python -m project.sweep "$spec" --workers "$workers" --out "$out" "${stale[@]}" "${extra[@]}"
  sweep_status=$?
  (( sweep_status == 2 )) && exit 2
  (( sweep_status != 0 )) && status=$sweep_status
  python -m project.report "$out" --out "$out/report" --control baseline \
    --step-costs docs/step_costs.json | tee "$out/report.txt" || exit $?
  took=$(( $(date +%s) - start ))
  figs=docs/results/$table
  mkdir -p "$figs"
  cp "$out"/report/{main_table.{md,tex,csv},time_table.md,generalisation_table.md,runs.csv} \
    "$out"/report/*.png "$figs"/
  body=$(mktemp)
  {
    echo "Command: \`scripts/reproduce_paper.sh --tables $table --workers $workers${extra[*]:+ --sweep-args \"${extra[*]}\"}\` (wall ${took}s; sweep exit status $sweep_status)."
    echo "Machine: $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), torch $(python -m pip show torch 2>/dev/null | sed -n 's/^Version: //p'), load average at the start $load_start and at the end $(cut -d' ' -f1-3 /proc/loadavg); started at commit $commit; date $(date -u +%Y-%m-%dT%H:%MZ)."
    echo "Runs: $(find "$out" -name summary.json | wc -l) finished in \`$out\` (spec \`$spec\`); each task uses the budget and target of its own \`conf/task/*.yaml\`, and $( [[ $table != main ]] && echo "every model its task's shared rate (\`task.lr\`)" || echo "each model its own rate there (\`task.model_lr\`, else \`task.lr\`)" )."
    echo
    sed -n '/^|/,$p' "$out/report.txt" | sed '/^report: /d'
    echo
    if [[ $table == variants ]]; then  # max pooling as a second control, its own Holm family
      echo "### Against the second control, max pooling (its own Holm family)"
      echo
      python -m project.report "$out" --out "$out/report_max" --control max \
        --step-costs docs/step_costs.json | sed -n '/^|/,$p' | sed '/^report: /d'
      cp "$out/report_max/main_table.md" "$figs/main_table_vs_max.md"
      echo
    fi
    echo "Tables: [Markdown](results/$table/main_table.md), [LaTeX](results/$table/main_table.tex), [CSV](results/$table/main_table.csv), [time](results/$table/time_table.md), [generalisation](results/$table/generalisation_table.md); per-seed data: [runs.csv](results/$table/runs.csv) (\`python -m project.report --from-csv docs/results/$table/runs.csv --out DIR\` rebuilds every table)."
    echo
    for png in "$figs"/*.png; do echo "![$(basename "$png" .png)](results/$table/$(basename "$png"))"; done
  } > "$body"
  python scripts/results_section.py "${HEADING[$table]}" "$body"
  rm -f "$body"
done
exit $status
