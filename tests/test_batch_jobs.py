"""How many stacks `airgap run` brings up by default: one per core, within the memory (benchmarks/stacks.py)."""

import pytest

from harness.scenarios import batch

pytestmark = pytest.mark.offline


@pytest.mark.parametrize("cores, available_mib, jobs", [(2, 24 * 1024, 2), (1, 24 * 1024, 1), (8, 3 * 1024, 3),
                                                        (8, 512, 1), (4, 0, 4)])
def test_default_jobs_is_one_stack_per_core_within_the_memory(cores, available_mib, jobs):
    assert batch.default_jobs(cores, available_mib) == jobs


def test_this_machine_reads_its_available_memory():
    assert batch._available_mib() > 0
