"""The air-gap stack: a simulated internet, mirrors in proxy mode, an egress-blocked build network and a trap."""
