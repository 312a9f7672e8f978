"""airgap-harness: prove that a build preamble fetches only from the mirrors its proxy-config names.

Layers, lowest first; a module imports only from its own layer or the ones below (tests/test_layers.py):

    infra      errors, paths, safe text, settings, the Docker engine, images
    contract   key catalog, proxy-config, references, value grammar, plan, lint, endpoints, survey
    secret     the proxy-config Secret: render, import, mount
    preamble   the reference preamble's interface, its offline oracle, its generated catalog
    stack      the air-gap stack: networks, simulated internet, mirrors, gateway, trap, evidence
    customer   a customer's own project: reading it, its managers, its stand-in dependencies
    scenarios  scenario model, recipes, steps, batches of scenarios, leak causes, reports, pytest plugin
    commands   the `airgap` command line (harness.cli registers them)
"""
