"""Sub-commands of `airgap`, the top layer; harness/cli.py registers them. May import every layer."""
