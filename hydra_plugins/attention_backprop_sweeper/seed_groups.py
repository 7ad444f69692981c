"""Hydra's basic sweeper with seeds grouped: ``hydra/sweeper=seed_groups`` (the suite's
default, ``conf/hydra/sweeper/seed_groups.yaml``).

A sweep over ``seed`` (``seed=0,1,2`` or ``seed=range(100,120)``) becomes jobs of
``seeds=[...]``: each job trains its seeds of one setting as one vectorised model
(``project.train``), so a cluster gets one job per group, not per seed. Groups hold at most
``seeds_per_job`` seeds (null: ``AUTO_GROUP_LIMIT``, near-equal sizes, as the sweep runner
groups them); ``seeds_per_job: 1`` keeps one job per seed. Every other override sweeps as in
Hydra's ``BasicSweeper``.
"""

from __future__ import annotations

from typing import List, Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.types import Override

from project.sweeps.backend import AUTO_GROUP_LIMIT, near_equal

SEED_KEY = "seed"


def seed_chunks(seeds: list[str], per_job: Optional[int]) -> list[list[str]]:
    """``seeds`` in consecutive groups: at most ``per_job`` (None: ``AUTO_GROUP_LIMIT``, the
    sweep runner's) each, as few as that allows, sizes differing by at most one."""
    limit = AUTO_GROUP_LIMIT if per_job is None else per_job
    if limit < 1:
        raise ValueError(f"hydra.sweeper.seeds_per_job={per_job}: give 1 or more (or null)")
    return near_equal(seeds, -(-len(seeds) // limit))


class SeedGroupSweeper(BasicSweeper):
    """``BasicSweeper`` whose ``seed`` sweep becomes ``seeds=[...]`` groups."""

    def __init__(self, max_batch_size: Optional[int], params=None,
                 seeds_per_job: Optional[int] = None) -> None:
        # BasicSweeper.__init__'s assignments, without its ``super(BasicSweeper, self)``: Hydra's
        # plugin scan re-executes basic_sweeper.py, after which that name is another class
        self.overrides, self.batch_index = None, 0
        self.max_batch_size, self.params = max_batch_size, params or {}
        self.hydra_context = self.config = self.launcher = None
        self.seeds_per_job = seeds_per_job

    def split_arguments(self, overrides: List[Override],
                        max_batch_size: Optional[int]) -> List[List[List[str]]]:
        seed = next((o for o in overrides if o.get_key_element() == SEED_KEY
                     and o.is_discrete_sweep()), None)
        if seed is None or self.seeds_per_job == 1:
            return BasicSweeper.split_arguments(overrides, max_batch_size)
        rest = [o for o in overrides if o is not seed]
        (jobs,) = BasicSweeper.split_arguments(rest, None)
        groups = seed_chunks(list(seed.sweep_string_iterator()), self.seeds_per_job)
        grouped = [[*job, f"seeds=[{','.join(group)}]"] for job in jobs for group in groups]
        size = len(grouped) if max_batch_size in (None, -1) else max_batch_size
        return [grouped[i:i + size] for i in range(0, len(grouped), size)]
