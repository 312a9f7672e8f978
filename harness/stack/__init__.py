"""The air-gap stack: a simulated internet, mirrors in proxy mode, an egress-blocked build network and a trap.

May import harness.secret, harness.contract and harness.infra (never the preamble or scenarios above it).
"""
