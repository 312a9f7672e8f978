"""Scenarios: the model and its schema, the recipes, the steps that run one scenario on a stack, running a
list of scenarios on a pool of stacks, the known leak causes that explain each egress event, the reports and
the pytest plugin.

May import every lower layer: harness.stack, harness.preamble, harness.secret, harness.contract, harness.infra.
"""
