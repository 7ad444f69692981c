#!/usr/bin/env bash
# Raffel & Ellis 2016 (arXiv:1512.08756v1), Table 1 at the paper's protocol
# (conf/experiment/raffel2016.yaml, grid conf/sweep/raffel2016.yaml), with the authors' early
# abandoning, then the table beside the published values (project/analysis/raffel_table.py).
#
#   scripts/reproduce_raffel2016.sh --profile gpu   # T0 50..10000, 5 seeds, 100 epochs (a GPU)
#   scripts/reproduce_raffel2016.sh --profile cpu   # T0 50, 100, 500 x 5 seeds and T0 1000 x
#                                                   # seeds 0,1; 10 epochs (hours on 2 cores)
#   options: --lengths 50,100  --seeds 0,1,2 (all T0)  --seeds-long 0,1 (T0 >= 1000 only)
#            --epochs N  --problems adding,multiply  --models attention_tanh,baseline
#            (a subset of the profile; given after --profile they replace its values)
#            --max-T N    only T0 <= N; the variable-length experiment's longest T
#                         (default: cpu 1000, gpu 10000)
#            --variable   also the variable-length experiment (conf/experiment/
#                         raffel2016_variable.yaml), T from 50 to --max-T
#            --variable-only   only that experiment   --variable-seeds 0 (default)
#            --no-abandon (every rate runs its full budget)  --workers N (default 2)
#            --rerun-stale (delete and rerun finished runs made under a since-changed config;
#                         without it they are kept, with a warning)
#            --out DIR  --table FILE  --no-doc (do not write docs/results.md)
#            --earlier DIR (a snapshot of an earlier table, e.g.
#                         docs/results/raffel2016/earlier_2026-11-28: its per-seed, per-rate
#                         and variable-length CSVs stand for runs no longer on disk; the rates
#                         they cover are not run again, and its invocations.log heads the list;
#                         never docs/results/raffel2016 itself, which the table rewrites; its
#                         runs' --set overrides, listed in its file overrides, must be these)
#            --no-run (train nothing: the table and docs from the runs in --out)
#            --dry-run (list each rate's runs still to do, with their budgets; train nothing)
#            --set KEY=VALUE  a Hydra override for every run (repeatable), e.g. an ablation's
#                         arm: --set task.data.variable_length=false
#            --arm NAME   the arm's name: its runs and table go to runs/raffel2016_<profile>-NAME
#                         (default with --set: NAME from the overrides, KEY=VALUE joined by
#                         ','), so that arms never share a runs folder; an arm's table is
#                         not written into docs/results.md
#
# Rates run one after another in the authors' order (1e-2, 3e-3, 1e-3, 3e-4), all cells of a
# rate in parallel; with abandoning, each (problem, T0, model, seed) gives the next rate only
# as many updates as the fewest an earlier rate needed to solve it. Rerunning skips finished
# runs. The table goes to --table and to the "## Raffel & Ellis 2016, Table 1" section of
# docs/results.md (only that section). Each training invocation appends its command, start,
# wall time and load averages to DIR/invocations.log (also when stopped by a signal); the docs
# section lists them.
set -uo pipefail
cd "$(dirname "$0")/.."
export WANDB_MODE=${WANDB_MODE:-offline} HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

profile=gpu; lengths=""; seeds=""; epochs=""; problems=adding,multiply; models=""; max_t=""
workers=2; out=""; table=""; abandon=1; fixed=1; variable=0; var_seeds=0; doc=1; train=1; dry=0
earlier=""; sets=(); arm=""; rerun_stale=0
args=("$@")
set_profile() {
  case $1 in
    gpu) profile=gpu; lengths=50,100,500,1000,5000,10000; seeds=0,1,2,3,4; long_seeds=$seeds
         epochs=100; max_t=10000 ;;
    cpu) profile=cpu; lengths=50,100,500,1000; seeds=0,1,2,3,4; long_seeds=0,1; epochs=10
         max_t=1000 ;;
    *) echo "error: --profile $1: expected cpu or gpu" >&2; exit 2 ;;
  esac
}
set_profile gpu
while [[ $# -gt 0 ]]; do
  case $1 in
    --profile) set_profile "$2"; shift 2 ;;
    --lengths) lengths=$2; shift 2 ;;
    --seeds) seeds=$2; long_seeds=$2; shift 2 ;;
    --seeds-long) long_seeds=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --problems) problems=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --max-T) max_t=$2; shift 2 ;;
    --variable) variable=1; shift ;;
    --variable-only) variable=1; fixed=0; shift ;;
    --variable-seeds) var_seeds=$2; shift 2 ;;
    --no-abandon) abandon=0; shift ;;
    --rerun-stale) rerun_stale=1; shift ;;
    --workers) workers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --table) table=$2; shift 2 ;;
    --earlier) earlier=$2; shift 2 ;;
    --no-doc) doc=0; shift ;;
    --no-run) train=0; shift ;;
    --dry-run) dry=1; doc=0; shift ;;
    --set) [[ ${2:-} == [!=]*=?* ]] || { echo "error: --set ${2:-}: expected KEY=VALUE" >&2; exit 2; }
           sets+=(--set "$2"); shift 2 ;;
    --arm) [[ ${2:-} =~ ^[A-Za-z0-9][A-Za-z0-9._=,+-]*$ ]] || { echo "error: --arm ${2:-}: expected a folder name (letters, digits, . _ = , + -)" >&2; exit 2; }
           arm=$2; shift 2 ;;
    -h|--help) sed -n '2,42p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
keep=(); for t in ${lengths//,/ }; do (( t <= max_t )) && keep+=("$t"); done
lengths=$(IFS=,; echo "${keep[*]}")
if (( fixed )) && [[ -z $lengths ]]; then echo "error: no T0 <= --max-T $max_t" >&2; exit 2; fi
overrides=$(for (( i = 1; i < ${#sets[@]}; i += 2 )); do echo "${sets[i]}"; done)
if [[ -z $arm && -n $overrides ]]; then  # the arm named by its overrides
  arm=$(paste -sd, <<< "$overrides" | tr '/ ' '__')
fi
out=${out:-runs/raffel2016_$profile${arm:+-$arm}}
if [[ -n $arm ]] && (( doc )); then
  doc=0; echo "arm $arm: its table goes to its own folder, not to docs/results.md"
fi
earlier_seeds=""
if [[ -n $earlier ]]; then  # an earlier table stands for runs made under the same overrides
  made=$(cat "$earlier/overrides" 2>/dev/null)
  if [[ $made != "$overrides" ]]; then
    echo "error: --earlier $earlier: its runs were made under the overrides [$(paste -sd' ' <<< "$made")], these are under [$(paste -sd' ' <<< "$overrides")] (its file overrides)" >&2; exit 2
  fi
fi
if [[ -n $earlier ]]; then
  earlier_seeds=$earlier/table_raffel2016_seeds.csv
  [[ -f $earlier_seeds ]] || { echo "error: --earlier $earlier: no $earlier_seeds" >&2; exit 2; }
  if [[ $(realpath "$earlier") == $(realpath docs/results/raffel2016) ]]; then
    echo "error: --earlier $earlier: this invocation rewrites that folder; give a snapshot of it (e.g. docs/results/raffel2016/earlier_2026-11-28)" >&2; exit 2
  fi
fi
table=${table:-$out/table_raffel2016.md}
gpu=""
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=trainer=gpu; fi
start=$(date +%s); load_start=$(cut -d' ' -f1-3 /proc/loadavg); date_start=$(date -u +%Y-%m-%dT%H:%MZ)

# Waves of rates with abandoning: project/raffel_waves.py plans every run through the sweep
# spec's own validation and runs each wave through project.sweeps.orchestrate.run_sweep.
# The driver runs in the background so that a signal to this script reaches it at once (the
# trap below passes it on); the driver then stops its runs, which checkpoint, before exiting.
run_waves() {  # $1: experiment, $2: lengths, $3: seeds, $4: an earlier table's per-seed CSV or "",
               # then extra --set KEY=VALUE arguments
  local experiment=$1 lens=$2 seeds_=$3 earlier_csv=$4; shift 4
  local opts=(--out "$out" --experiment "$experiment" --lengths "$lens" --seeds "$seeds_"
              --epochs "$epochs" --problems "$problems" ${models:+--models "$models"} --workers "$workers" "${sets[@]}" "$@")
  (( abandon )) || opts+=(--no-abandon)
  [[ -n $gpu ]] && opts+=(--gpu)
  (( dry )) && opts+=(--dry-run)
  (( rerun_stale )) && opts+=(--rerun-stale)
  [[ -n $earlier_csv ]] && opts+=(--earlier "$earlier_csv")
  python -m project.raffel_waves "${opts[@]}" &
  driver=$!
  wait "$driver"
  local rc=$?
  (( rc == 2 )) && exit 2  # bad input (the driver said which): nothing was trained
  return $rc
}

status=0
if (( train && ! dry )); then
  mkdir -p "$out"
  [[ -n $overrides ]] && echo "$overrides" > "$out/overrides"  # what an --earlier snapshot must match
  log_end() {
    echo "- \`scripts/reproduce_raffel2016.sh ${args[*]}\`: started $date_start, load $load_start; ended $(date -u +%Y-%m-%dT%H:%MZ), wall $(( $(date +%s) - start ))s, load $(cut -d' ' -f1-3 /proc/loadavg), $1" >> "$out/invocations.log"
  }
  stopped() {  # the wave driver stops its runs (they checkpoint), then this invocation ends
    [[ -n ${driver:-} ]] && { kill -TERM "$driver" 2>/dev/null; wait "$driver"; }
    log_end "stopped by a signal (finished runs kept, the rest resume on rerun)"; exit 143
  }
  trap stopped TERM INT
fi
(( train )) || { fixed=0; variable=0; }
if (( fixed )); then
  short=(); long=(); for t in ${lengths//,/ }; do if (( t < 1000 )); then short+=("$t"); else long+=("$t"); fi; done
  if [[ $long_seeds == "$seeds" ]]; then
    run_waves raffel2016 "$lengths" "$seeds" "$earlier_seeds" || status=$?
  else
    (( ${#short[@]} )) && { run_waves raffel2016 "$(IFS=,; echo "${short[*]}")" "$seeds" "$earlier_seeds" || status=$?; }
    (( ${#long[@]} )) && { run_waves raffel2016 "$(IFS=,; echo "${long[*]}")" "$long_seeds" "$earlier_seeds" || status=$?; }
  fi
fi
if (( variable )); then
  # T0 is the shortest length (50); max_seq_len the longest; 1000 updates between evaluations
  run_waves raffel2016_variable 50 "$var_seeds" "" --set "task.data.max_seq_len=$max_t" || status=$?
fi
took=$(( $(date +%s) - start ))
(( dry )) && exit $status
(( train )) && { trap - TERM INT; log_end "exit status $status"; }
python -m project.raffel_table "$out" --out "$table" --lengths "$lengths" \
  ${earlier_seeds:+--earlier "$earlier_seeds"} || exit $?
echo "table: $table; took ${took}s"
(( doc )) || exit $status

# docs/results.md, section "## Raffel & Ellis 2016, Table 1" (only that section is touched)
mkdir -p docs/results/raffel2016
cp "$table" docs/results/raffel2016/
for f in "${table%.md}.csv" "${table%.md}_seeds.csv" "${table%.md}_variable.csv"; do [[ -f $f ]] && cp "$f" docs/results/raffel2016/; done
# the invocations: the earlier table's, then this folder's lines it does not have yet
log=$(mktemp)
[[ -n $earlier && -f $earlier/invocations.log ]] && cat "$earlier/invocations.log" > "$log"
[[ -f $out/invocations.log ]] && grep -vxF -f "$log" "$out/invocations.log" >> "$log"
[[ -s $log ]] && cp "$log" docs/results/raffel2016/invocations.log
body=$(mktemp)
fixed_table=$(cat "$table" 2>/dev/null); var_table=$(cat "${table%.md}_variable.md" 2>/dev/null)
cost_table=$(cat "${table%.md}_cost.md" 2>/dev/null)
{
  echo "Table: \`scripts/reproduce_raffel2016.sh ${args[*]}\` (exit status $status, ${took}s)."
  echo "Machine: $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), shared with other jobs: load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; ${gpu:-no GPU}; torch $(python -m pip show torch 2>/dev/null | sed -n 's/^Version: //p'); code at commit $(git rev-parse --short HEAD); started $date_start, wall time ${took}s."
  echo "Runs: $(find "$out" -name summary.json 2>/dev/null | wc -l) finished in \`$out\`$([[ -n $earlier_seeds ]] && echo ", and the per-seed results of $(( $(wc -l < "$earlier_seeds") - 1 )) earlier (problem, T0, model, seed) for the rates they cover that the runs here lack (a seed whose runs here start at the first rate replaces its earlier row), and the variable-length rates that the runs here lack, from \`$earlier\` (runs no longer on disk: see its README)"); problems $problems${models:+; models $models}; T0 $lengths; seeds $seeds$([[ $long_seeds != "$seeds" ]] && echo " (T0 >= 1000: $long_seeds)"); budget $epochs epochs of 1000 updates; early abandoning $( ((abandon)) && echo on || echo off)."
  if [[ -s $log ]]; then
    echo "Training invocations that made them ([invocations.log](results/raffel2016/invocations.log)):"
    echo
    cat "$log"
  fi
  echo
  if [[ -n $fixed_table ]]; then
    echo "$fixed_table"
    echo
    echo "Ours: per seed, the paper's statistic: the fewest epochs (ceil(updates / 1000); we"
    echo "evaluate every 100 updates and stop at the target) in which any of the rates 1e-2, 3e-3,"
    echo "1e-3, 3e-4 solved the problem (100% of 1000 held-out sequences within 0.04); the cell is"
    echo "the median over seeds \`[range]\`, seeds solved n/N, the rate that was best for how many"
    echo "seeds; \`>B\`: not solved within our budget of B epochs (then the median over seeds of the"
    echo "best held-out accuracy). Paper: arXiv:1512.08756v1, Table 1 (one run per cell; a"
    echo "percentage is its accuracy after 100 epochs, never solved). Agree: within one epoch, or"
    echo "both unsolved within our budget where the paper never solved it or needed more epochs"
    echo "than our budget; blank where we did not run the cell. Every rate's cell:"
    echo "[CSV](results/raffel2016/$(basename "${table%.md}.csv")), every seed:"
    echo "[CSV](results/raffel2016/$(basename "${table%.md}_seeds.csv"))."
    echo
  fi
  echo "Protocol (\`conf/experiment/raffel2016.yaml\`, from the paper's section 2 and the authors'"
  echo "code \`craffel/ff-attention\`, data \`craffel/lstm_problems\`): lengths uniform in"
  echo "[T0, 1.1 T0], batch 100 (a fresh batch every update), D = 100, leaky ReLU (slope 0.01) on"
  echo "h, s and the output y, tanh attention score (\`model=attention_tanh\`) vs the unweighted mean"
  echo "(\`model=baseline\`), weights N(0, 1/fan-in) and zero biases, squared error, Adam"
  echo "(0.9, 0.999), 1000 held-out sequences. Early abandoning as in the authors' code: rates run"
  echo "in the order above and a rate gets only as many updates as the fewest an earlier rate"
  echo "needed for that seed, which cannot change the per-seed statistic. Differences: several"
  echo "seeds instead of one run; evaluation every 100 updates (epochs rounded up); padded steps"
  echo "are masked out of the pooling; the second marker is drawn from [10, L/2) (theirs"
  echo "[1, L/2 - 1)); the addition problem follows the authors' code (values in [-1, 1], target"
  echo "0.5 + (X1 + X2)/4), where the paper's text says values in [0, 1] and their sum."
  echo
  if [[ -n $cost_table ]]; then
    echo "Training cost of the fixed-length runs whose folders were on disk for this table"
    echo "(\`step_ms\`, \`train_s\` of every rate's cell in the CSV; the training clock leaves out"
    echo "evaluations; cells taken from an earlier table's CSV without these columns are not counted):"
    echo
    echo "$cost_table"
    echo
  fi
  echo "### Variable length"
  echo
  if [[ -n $var_table ]]; then
    echo "$var_table"
    echo
    echo "One model per problem and pooling trained on lengths from 50 to the T shown (each batch"
    echo "draws its one length uniformly; \`conf/experiment/raffel2016_variable.yaml\`), for the"
    echo "epochs shown, evaluated every 1000 updates on 1000 held-out sequences with lengths"
    echo "evenly spread over the range; the rate with the best median validation accuracy."
    echo "Paper: T from 50 to 10000, 100 epochs, its single run's accuracy."
  else
    echo "Not run by this invocation. GPU (the paper's experiment):"
    echo "\`scripts/reproduce_raffel2016.sh --profile gpu --variable-only\`; scaled for 2 CPU cores"
    echo "(T from 50 to 1000, 10 epochs): \`scripts/reproduce_raffel2016.sh --profile cpu --variable-only\`."
    echo "Paper: attention 99.9% (add) / 99.4% (multiply), unweighted mean 77.4% / 55.5%."
  fi
} > "$body"
python scripts/results_section.py "## Raffel & Ellis 2016, Table 1" "$body"
rm -f "$body" "$log"
exit $status
