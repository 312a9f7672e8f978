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


def test_progress_lines_from_several_stacks_never_run_together(monkeypatch):
    """Each stack reports from its own thread: a line and its newline go out in one write, under one lock."""
    import sys
    import threading

    writes = []

    class Recording:
        def write(self, text):
            writes.append(text)

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stderr", Recording())
    threads = [threading.Thread(target=lambda n=n: [batch.stderr_progress(f"[{n}/{i}] scenario: ok") for i in range(200)])
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(writes) == 800
    assert all(text.endswith(" scenario: ok\n") and text.count("\n") == 1 for text in writes)
