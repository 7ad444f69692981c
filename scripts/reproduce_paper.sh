#!/usr/bin/env bash
# The main table: run conf/sweep/paper.yaml (every real task and the adding problem x
# {attention, baseline} x 5 seeds), build the report, and write the table, the across-task
# summary and the figures into docs/results.md under "## Main table" (figures and the
# md/tex/csv tables go to docs/results/paper/).
#
#   scripts/reproduce_paper.sh [--workers N] [--out DIR] [--rerun-stale]
#
# Rerunning skips finished runs; --rerun-stale reruns those made with a since-edited config.
# The full report (report.html, SVGs) stays in DIR/report.
set -uo pipefail
cd "$(dirname "$0")/.."
export WANDB_MODE=${WANDB_MODE:-offline} HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
workers=2; out=runs/paper; stale=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --workers) workers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --rerun-stale) stale=(--rerun-stale); shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
python -m project.sweep conf/sweep/paper.yaml --workers "$workers" --out "$out" "${stale[@]}"
status=$?
(( status == 2 )) && exit 2
python -m project.report "$out" --out "$out/report" | tee "$out/report.txt" || exit $?
took=$(( $(date +%s) - start ))

figs=docs/results/paper
mkdir -p "$figs"
cp "$out"/report/main_table.{md,tex,csv} "$out"/report/*.png "$figs"/
body=$(mktemp)
{
  echo "Command: \`scripts/reproduce_paper.sh --workers $workers --out $out${stale[*]:+ ${stale[*]}}\` (took ${took}s; sweep exit status $status)."
  echo "Machine: $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), torch $(python -c 'import torch; print(torch.__version__)'), load average at the end $(cut -d' ' -f1-3 /proc/loadavg); working tree at commit $(git rev-parse --short HEAD); date $(date -u +%Y-%m-%dT%H:%MZ)."
  echo "Runs: $(find "$out" -name summary.json | wc -l) finished in \`$out\` (spec \`conf/sweep/paper.yaml\`); each task uses the budget, target and learning rate of its own \`conf/task/*.yaml\`."
  echo
  cat "$out/report/main_table.md"
  echo
  grep -m1 '^Across' "$out/report.txt" || true
  echo
  echo "Tables: [Markdown](results/paper/main_table.md), [LaTeX](results/paper/main_table.tex), [CSV](results/paper/main_table.csv)."
  echo
  for png in "$figs"/*.png; do echo "![$(basename "$png" .png)](results/paper/$(basename "$png"))"; done
} > "$body"
python scripts/results_section.py "## Main table" "$body"
rm -f "$body"
exit $status
