"""Sub-commands of `airgap`; see harness/cli.py for how they are registered."""
