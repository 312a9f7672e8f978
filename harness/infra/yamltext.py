"""YAML parsed with libyaml when PyYAML has it: the catalog, grammar and profile are read on every command, and
the pure-Python parser alone took most of `airgap plan`'s time (issue 12, item 5)."""

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same safe constructors, in C


def load_yaml(text: str | bytes):
    """yaml.safe_load, faster: the same documents, the same yaml.YAMLError on bad input."""
    return yaml.load(text, Loader=SAFE_LOADER)
