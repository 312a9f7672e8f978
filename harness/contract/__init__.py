"""The contract (docs/seed/mirror-registry.md) as a model: the key catalog, a proxy-config directory,
image references, the value grammar, the effective plan, lint, the mirror endpoints a plan needs, surveys.

Pure computation over files: no Docker, no network. May import harness.infra only.

Its records are `@record` classes (harness/infra/records.py), immutable named tuples: `airgap plan` and `airgap lint`
load them on every start, and dataclasses cost more than everything else those commands do.
"""
