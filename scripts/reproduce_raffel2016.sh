#!/usr/bin/env bash
# Raffel & Ellis 2016, Table 1: run conf/sweep/raffel2016.yaml, then build the table
# (rows problem x T; per model: batches to solve at the best lr, median over seeds, solved n/N).
#
#   scripts/reproduce_raffel2016.sh                 # the full grid, T up to 10000: for a GPU
#   scripts/reproduce_raffel2016.sh --max-T 1000    # 2 CPU cores, at most 30 minutes
#   options: --workers N (default 2)  --out DIR  --table FILE  --rerun-stale (rerun finished
#            runs whose config changed since, e.g. after editing conf/sweep/raffel2016.yaml)
#
# --max-T 1000 or less uses the CPU profile: seeds 0,1; T <= 100 get 1000 batches, T >= 500
# get 200 batches (a T=1000 batch costs ~15x a T=100 one), evaluation every 50 batches.
# The full profile is the spec as written: 5 seeds, 20000 batches, evaluation every 100.
# Rerunning skips finished runs; the table is printed, written to --table and to the
# "## Raffel & Ellis 2016, Table 1" section of docs/results.md (only that section).
set -uo pipefail
cd "$(dirname "$0")/.."
export WANDB_MODE=${WANDB_MODE:-offline} HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

max_t=10000; workers=2; out=""; table=""; stale=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --max-T) max_t=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --table) table=$2; shift 2 ;;
    --rerun-stale) stale=(--rerun-stale); shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
lengths() { local ts=() t; for t in "$@"; do (( t <= max_t )) && ts+=("$t"); done; local IFS=,; echo "${ts[*]}"; }
spec=conf/sweep/raffel2016.yaml
start=$(date +%s); status=0

max_arg=""; (( max_t < 10000 )) && max_arg="--max-T $max_t"
if (( max_t <= 1000 )); then
  out=${out:-runs/raffel2016_cpu}
  profile="CPU profile: seeds 0,1; 1000 batches for T <= 100, 200 for T >= 500; evaluation every 50 batches"
  cpu=(--set seed=0,1 --set task.budget.val_every_n_steps=50)
  short=$(lengths 50 100); long=$(lengths 500 1000)
  if [[ -n $short ]]; then
    python -m project.sweep $spec --workers "$workers" --out "$out" "${stale[@]}" "${cpu[@]}" \
      --set "task.seq_len=$short" --set task.budget.max_steps=1000 || status=$?
  fi
  if [[ -n $long ]]; then
    python -m project.sweep $spec --workers "$workers" --out "$out" "${stale[@]}" "${cpu[@]}" \
      --set "task.seq_len=$long" --set task.budget.max_steps=200 || status=$?
  fi
else
  out=${out:-runs/raffel2016}
  profile="full spec: seeds 0-4; 20000 batches; evaluation every 100 batches"
  gpu=()
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=(--set trainer=gpu); fi
  python -m project.sweep $spec --workers "$workers" --out "$out" "${stale[@]}" "${gpu[@]}" \
    --set "task.seq_len=$(lengths 50 100 500 1000 5000 10000)" || status=$?
fi
(( status == 2 )) && exit 2

table=${table:-$out/table_raffel2016.md}
python -m project.analysis.raffel_table "$out" --out "$table" || exit $?
took=$(( $(date +%s) - start ))
echo "table: $table (per-lr cells: ${table%.md}.csv); took ${took}s"

# docs/results.md, section "## Raffel & Ellis 2016, Table 1" (only that section is touched)
mkdir -p docs/results/raffel2016
cp "$table" "${table%.md}.csv" docs/results/raffel2016/
body=$(mktemp)
{
  echo "Command: \`scripts/reproduce_raffel2016.sh${max_arg:+ $max_arg} --workers $workers --out $out\` (took ${took}s, sweep exit status $status)."
  echo "Machine: $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), torch $(python -c 'import torch; print(torch.__version__)'), load average at the end $(cut -d' ' -f1-3 /proc/loadavg); working tree at commit $(git rev-parse --short HEAD); date $(date -u +%Y-%m-%dT%H:%MZ)."
  echo "Runs: $(find "$out" -name summary.json | wc -l) finished in \`$out\`; $profile."
  echo
  cat "$table"
  echo
  echo "Cell: Kaplan-Meier median over seeds of the batches until 100% of the 1000 validation"
  echo "sequences are within 0.04 of the target (\`>B\`: half or more of the seeds never got there"
  echo "within the budget of B batches, with the median best validation accuracy they reached),"
  echo "seeds that solved it / seeds, and the learning rate of the best cell among 1e-2, 3e-3, 1e-3,"
  echo "3e-4 (most seeds solved, then lowest median, then most progress toward the target). Every"
  echo "rate's cell: [CSV](results/raffel2016/$(basename "${table%.md}.csv"))."
  echo
  echo "Setup as in the authors' code where the suite allows it (\`craffel/ff-attention\`,"
  echo "\`toy_problems/fixed_length_experiments.py\`, data from \`craffel/lstm_problems\`): batch 100,"
  echo "hidden 100, leaky ReLU (slope 0.01), a hidden output layer of 100, tanh attention scores"
  echo "(\`model.score=tanh\`), Adam with the four rates above and the best rate per cell, a fresh"
  echo "training batch every step, lengths drawn from [T, 1.1T), 1000 held-out sequences, solved ="
  echo "all of them within 0.04. Differences: evaluation every 50-100 batches instead of every 1000;"
  echo "padded steps are masked out of the pooling (their fixed-length script pools over the zero"
  echo "padding too); the second marker is drawn from [10, L/2) rather than [1, L/2 - 1); a linear"
  echo "output (theirs ends in a leaky ReLU); PyTorch's default initialisation of the linear layers"
  echo "(theirs: He-normal; the attention vector starts N(0, 1/100) in both); and the budget above"
  echo "(\`>B\` means not within B batches)."
  echo
  echo "What the paper reports: its Table 1 could not be consulted offline (the PDF is unreachable"
  echo "here and the stored copies of its pages stop before the results), so no published numbers"
  echo "stand beside ours, and none are quoted from memory."
  if (( max_t <= 1000 )); then
    echo
    echo "Budgets this small cannot show what happens at T >= 500: the full profile"
    echo "(\`scripts/reproduce_raffel2016.sh\` without \`--max-T\`: 5 seeds, 20000 batches, T up to 10000)"
    echo "is for a GPU and is not part of this table."
  fi
} > "$body"
python scripts/results_section.py "## Raffel & Ellis 2016, Table 1" "$body"
rm -f "$body"
exit $status
