"""A customer's own project under air-gap: `airgap repro --project PATH` and a scenario's `project: {path: ...}`.

project.py reads the project (size-limited, errors name the file), finds which package managers it uses (each
slice's `customer: builds:`, harness/stack/managers/<manager>.yaml) and asks each manager's module here,
harness/customer/<manager>.py, for its stand-ins: `standins(files) -> StandIns`, the packages its manifests and
lockfiles name, as additions to that manager's fixture definition (fixtures/content/<manager>.yaml, so the
content generator that makes the fixtures makes them too), plus the files whose pinned hashes must be those of
the stand-ins (rewritten on a copy; the customer's directory is never written).
"""
