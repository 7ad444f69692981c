#!/usr/bin/env bash
# README main job: attention vs mean pooling on the adding problem and ItalyPowerDemand,
# 3 seeds (conf/sweep/quick.yaml), 2 persistent workers into runs/quick, each task x model's
# seeds trained as one vectorised model (the sweep's default: docs/sweeps.md), then
# the report: prints the paper-style table and where report.html is. Under 3 minutes on 2
# CPU cores.
# Rerunning skips finished runs. OUT=... and REPORT=... change the folders.
set -uo pipefail
cd "$(dirname "$0")/.."
export WANDB_MODE=${WANDB_MODE:-offline} HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
out=${OUT:-runs/quick}
report=${REPORT:-$out/report}

python -m project.sweep conf/sweep/quick.yaml --workers 2 --out "$out"
status=$?
[[ $status -eq 2 ]] && exit 2          # the spec did not validate: nothing ran
python -m project.report "$out" --out "$report" || exit $?
exit $status                            # 1 if some run failed (listed above)
