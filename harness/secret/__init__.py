"""The proxy-config Kubernetes Secret: rendered from, imported into and mounted as a directory.

May import harness.contract and harness.infra.
"""
