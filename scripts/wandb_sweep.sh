#!/usr/bin/env bash
# Create a W&B sweep from a spec in conf/sweep/ and start N agents on this machine, one per GPU.
#
#   scripts/wandb_sweep.sh conf/sweep/paper.yaml [--agents N] [--project P] [--entity E]
#                                                [--count K] [--set KEY=V1,V2 ...]
#
# The spec is validated locally first (every combination composes), then `wandb sweep` gets a
# copy with logger=wandb (so each run reports to the sweep) and, where GPUs exist,
# trainer=gpu. Agent i runs on GPU i mod #GPUs (CUDA_VISIBLE_DEVICES) and logs to
# runs/wandb_agents/agent_<i>.log. Other machines join the same sweep with the printed command:
#   wandb agent ENTITY/PROJECT/SWEEP_ID        (add --count K to cap the runs per agent)
# Needs a W&B login (`wandb login`) and network access.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,12p' "$0"; exit "${1:-2}"; }
[[ $# -ge 1 ]] || usage
[[ $1 == -h || $1 == --help ]] && usage 0
spec=$1; shift
agents=""; project=${WANDB_PROJECT:-attention-backprop}; entity=${WANDB_ENTITY:-}
count=""; sets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --agents) agents=$2; shift 2 ;;
    --project) project=$2; shift 2 ;;
    --entity) entity=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done

gpus=0
if command -v nvidia-smi >/dev/null 2>&1; then gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); fi
agents=${agents:-$(( gpus > 0 ? gpus : 1 ))}
extra=(--set logger=wandb)
(( gpus > 0 )) && extra+=(--set trainer=gpu)

mkdir -p runs/wandb_agents
resolved=runs/wandb_agents/$(basename "$spec" .yaml).wandb.yaml
python -m project.sweep "$spec" "${sets[@]}" "${extra[@]}" --write-spec "$resolved"

created=$(wandb sweep --project "$project" ${entity:+--entity "$entity"} "$resolved" 2>&1) || {
  echo "$created" >&2; echo "error: wandb sweep failed (logged in? online?)" >&2; exit 1; }
echo "$created"
sweep_path=$(grep -oE 'wandb agent [^ ]+' <<<"$created" | tail -1 | awk '{print $3}')
[[ -n "$sweep_path" ]] || { echo "error: no sweep id in the output of wandb sweep" >&2; exit 1; }

pids=()
for ((i = 0; i < agents; i++)); do
  where="CPU"
  if (( gpus > 0 )); then export CUDA_VISIBLE_DEVICES=$(( i % gpus )); where="GPU $CUDA_VISIBLE_DEVICES"; fi
  wandb agent ${count:+--count "$count"} "$sweep_path" > "runs/wandb_agents/agent_$i.log" 2>&1 &
  pids+=($!)
  echo "agent $i (pid $!, $where) -> runs/wandb_agents/agent_$i.log"
done
echo
echo "sweep: $sweep_path"
echo "join from another machine (same checkout, W&B login):  wandb agent $sweep_path"
echo "stop these agents: kill ${pids[*]}"
trap 'kill "${pids[@]}" 2>/dev/null' INT TERM
wait "${pids[@]}"
