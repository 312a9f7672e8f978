"""The air-gap stack: a simulated internet, mirrors in proxy mode, an egress-blocked build network and a trap.

May import harness.preamble (its interface: what a builder's preamble receives), harness.secret, harness.contract
and harness.infra (never the scenarios or commands above it).
"""
