"""The stack as a compose project, for interactive debugging, written from the same topology definition.

    python -m harness.stack.compose            # writes compose/generated/ (certificates, configs, .env)
    docker-compose -f compose/docker-compose.yml up -d     # image tags come from compose/.env
    docker-compose -f compose/docker-compose.yml exec builder bash

compose/docker-compose.yml is committed and deterministic (fixed subnets, the full-global fixture's mirror
names, image tags as variables); tests/stack/test_compose.py fails when it drifts from this definition.
Everything per machine or per run (run CA, certificates; image tags in compose/.env) is generated, not committed.
"""

import sys
from pathlib import Path

import yaml

from harness.infra.images import run_options
from harness.stack import content, gateway, isolation
from harness.stack.pki import RunCA
from harness.stack.identity import LABEL, RUN_LABEL
from harness.stack.servers import all_specs
from harness.stack.builders import CA_BUNDLE, PROXY_CONFIG_MOUNT
from harness.stack.configuration import routes_for
from harness.stack.containers import RESTART_POLICY
from harness.stack.networks import RESERVED_SUBNETS
from harness.stack.topology import BUILD, INTERNET, NETWORKS, Topology, place
from harness.infra import paths

GENERATED = "generated"  # relative to the compose file
RUN_ID = "compose"
SUBNETS = dict(zip(NETWORKS, RESERVED_SUBNETS[0].subnets(new_prefix=24)))
LABELS = {LABEL: "1", RUN_LABEL: RUN_ID}  # no pid label: `airgap clean` leaves it alone unless --all


def _proxy_config() -> Path:
    return paths.fixtures_dir() / "proxy-config" / "full-global"


def _image(name: str) -> str:
    return "${AIRGAP_IMAGE_" + name.upper().replace("-", "_") + "}"


def _files_dir(service: str) -> str:
    return f"./{GENERATED}/files/{service}"


def _routes():
    from harness.contract.config import read_config

    return routes_for(read_config(_proxy_config()))[0]


def definition(ca: RunCA) -> tuple[Topology, list]:
    routes = _routes()
    servers = all_specs(ca, content.build())
    gateway_spec = gateway.spec(routes, ca.issue(gateway.mirror_hosts(routes)))
    return place(RUN_ID, SUBNETS, servers, gateway_spec, gateway.mirror_hosts(routes)), routes


def _service(placement) -> dict:
    spec = placement.spec
    service = {
        "image": _image(spec.image),
        "container_name": f"airgap-{RUN_ID}-{spec.name}",
        "hostname": spec.name,
        "labels": dict(LABELS),
        "restart": f"on-failure:{RESTART_POLICY['MaximumRetryCount']}",
        "networks": {net: {"ipv4_address": placement.addresses[net], "aliases": [spec.name, *spec.aliases]}
                     for net in spec.networks},
    }
    if spec.command:
        service["command"] = list(spec.command)
    if spec.env:
        service["environment"] = dict(spec.env)
    if placement.dns:
        service["dns"] = [placement.dns]
    if placement.cap_add:
        service["cap_add"] = list(placement.cap_add)
    if placement.sysctls:
        service["sysctls"] = dict(placement.sysctls)
    if spec.files:
        service["volumes"] = [f"{_files_dir(spec.name)}{path}:{path}" for path in sorted(spec.files)]
    return service


def _builder(topology: Topology, network: str, name: str) -> dict:
    return {
        "image": _image("builder"),
        "container_name": f"airgap-{RUN_ID}-{name}",
        "hostname": "builder",
        "labels": dict(LABELS),
        "command": ["sleep", "infinity"],
        "networks": [network],
        "dns": [topology.resolver(network)],
        "volumes": [f"./{GENERATED}/run-ca.pem:{CA_BUNDLE}:ro", f"./{GENERATED}/proxy-config:{PROXY_CONFIG_MOUNT}:ro"],
        **run_options("builder"),
    }


def _confine(topology: Topology, network: str, builder: str) -> dict:
    """One-shot: the builder's routes, set from outside (the builder itself has no NET_ADMIN)."""
    command = isolation.confine_commands(network, topology.resolver(network), topology.bridge_gateway(network))
    return {"image": _image("dns"), "labels": dict(LABELS), "network_mode": f"service:{builder}",
            "cap_add": ["NET_ADMIN"], "depends_on": [builder], "command": ["sh", "-c", command]}


def compose_document(topology: Topology) -> dict:
    services = {p.spec.name: _service(p) for p in topology.placements}
    services["builder"] = _builder(topology, BUILD, "builder")
    services["confine-builder"] = _confine(topology, BUILD, "builder")
    services["builder-open"] = _builder(topology, INTERNET, "builder-open")
    services["confine-builder-open"] = _confine(topology, INTERNET, "builder-open")
    networks = {}
    for name, subnet in topology.subnets.items():
        networks[name] = {
            "name": f"airgap-{RUN_ID}-{name}", "internal": True, "labels": dict(LABELS),
            "driver_opts": {"com.docker.network.bridge.name": f"airgap-c-{name[:5]}"},
            "ipam": {"config": [{"subnet": str(subnet), "ip_range": str(topology.dynamic_range(name)),
                                 "gateway": topology.bridge_gateway(name)}]},
        }
    # File format 2.4: what both docker-compose 1.x (Debian's) and Compose v2 accept with these features.
    return {"version": "2.4", "services": services, "networks": networks}


HEADER = """# Generated by `python -m harness.stack.compose` from harness/stack/topology.py: do not edit.
# The same topology as AirgapStack, with the mirror names of fixtures/proxy-config/full-global.
# Before `up`: run the generator (it writes ./generated/) and add the host firewall rules of README.md.
"""


class _PlainDumper(yaml.SafeDumper):
    """No &anchors/*aliases for shared lists: the file is read by people."""

    def ignore_aliases(self, data) -> bool:
        return True


def render_compose(topology: Topology) -> str:
    document = compose_document(topology)
    return HEADER + yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False, width=200)


def write_generated(topology: Topology, ca: RunCA, directory: Path, image_tags: dict[str, str]) -> None:
    """Per-run and per-machine files: each service's files, the run CA, a proxy-config; image tags in ../.env."""
    from harness.stack import secret_layout

    for placement in topology.placements:
        for path, data in placement.spec.files.items():
            target = directory / "files" / placement.spec.name / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    (directory / "run-ca.pem").write_bytes(ca.ca_pem)
    if not (directory / "proxy-config").exists():
        secret_layout.mount(_proxy_config(), directory / "proxy-config")
    env = f"COMPOSE_PROJECT_NAME=airgap-{RUN_ID}\n"
    env += "".join(f"AIRGAP_IMAGE_{name.upper().replace('-', '_')}={tag}\n" for name, tag in sorted(image_tags.items()))
    (directory.parent / ".env").write_text(env)  # compose reads .env next to the compose file


def main() -> int:
    from harness.infra.images import ensure_image  # builds what is missing: only the generator needs Docker

    ca = RunCA()
    topology, _ = definition(ca)
    (paths.compose_dir() / "docker-compose.yml").write_text(render_compose(topology))
    images = {"builder", "dns", *(p.spec.image for p in topology.placements)}
    write_generated(topology, ca, paths.compose_dir() / GENERATED, {name: ensure_image(name) for name in images})
    print(f"wrote {paths.compose_dir() / 'docker-compose.yml'} and {paths.compose_dir() / GENERATED}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
