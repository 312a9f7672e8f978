"""The contract (docs/seed/mirror-registry.md) as a model: the key catalog, a proxy-config directory,
image references, the value grammar, the effective plan, lint, the mirror endpoints a plan needs, surveys.

Pure computation over files: no Docker, no network. May import harness.infra only.

Its records are NamedTuples, not dataclasses: `airgap plan` and `airgap lint` load them on every start, and on
Python 3.11 importing dataclasses (and inspect with it) and creating some thirty dataclasses took longer than
everything else those commands do (issue 12, item 5; tests/test_cli.py keeps dataclasses out of those
commands). A record is a tuple: it equals any tuple of the same values, so compare records of one kind only.
"""
