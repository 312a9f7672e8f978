"""Serving a proxy-config in a running stack: the mirror gateway's routes and certificate, the names the build
network resolves to it, and the images the golden registry holds for overrides on the customer's own hosts.

Everything comes from a MirrorConfig (harness.stack.configuration): the configuration read once and its plans.
The gateway is reloaded and the names rewritten only when the routes change; the golden registry is refilled
every time (an override's tag can change while its route stays the same). The servers pick new files up a moment
later (`settled_at`): a builder is started meanwhile, and its command waits for that moment (builders.py).
"""

import time
from typing import Callable

from harness.infra.errors import UserError
from harness.stack import dns, gateway, trap
from harness.stack.configuration import MirrorConfig
from harness.stack.containers import archive
from harness.stack.content import oci
from harness.stack.pki import CertPair, RunCA
from harness.stack.servers.mirrors import BACKENDS, GOLDEN_STORAGE

NO_CERT_NAME = "mirror-gateway.airgap.invalid"  # the gateway's certificate before any proxy-config names a host
PICKUP_S = 0.3  # nginx workers and dnsmasq's inotify pick the new files up


def certificate(ca: RunCA, routes) -> CertPair:
    """The gateway's certificate: every mirror host of the routes (a placeholder name when there is none)."""
    return ca.issue(gateway.mirror_hosts(list(routes)) or [NO_CERT_NAME])


class Mirrors:
    """The configurable side of a run's mirrors. `container_of(name)` gives a running server's docker container."""

    def __init__(self, ca: RunCA, container_of: Callable[[str], object], gateway_address: Callable[[], str],
                 served: MirrorConfig) -> None:
        self.ca, self.container_of, self.gateway_address = ca, container_of, gateway_address
        self.served = served  # what the gateway serves now (the one it was started with, at first)
        self.settled_at = 0.0  # time.monotonic() from which the servers serve `served`

    def serve(self, served: MirrorConfig) -> None:
        """Serve `served`: new routes, certificate and names if they changed; the golden registry's images."""
        if served.routes != self.served.routes:
            self._reload(list(served.routes))
        self.served = served
        self.seed_golden()

    def seed_golden(self) -> None:
        """Put the images of the served configuration's overrides into the golden registry (when a route goes there)."""
        if self.served.golden_images is None:
            return
        storage = oci.registry_storage(list(self.served.golden_images))
        self.container_of(BACKENDS["golden"].service).put_archive(
            "/", archive({f"{GOLDEN_STORAGE}/{path}": data for path, data in storage.items()}))

    def _reload(self, routes: list[gateway.Route]) -> None:
        gateway_container = self.container_of(gateway.NAME)
        gateway_container.put_archive("/", archive(gateway.render(routes, certificate(self.ca, routes))))
        reload = gateway_container.exec_run(["sh", "-c", "nginx -t && nginx -s reload"])
        if reload.exit_code != 0:
            raise UserError("the mirror gateway refused its new configuration:\n" + reload.output.decode(errors="replace"))
        names = {host: self.gateway_address() for host in gateway.mirror_hosts(routes)}
        self.container_of(trap.NAME).put_archive("/", archive({dns.HOSTS_FILE: dns.hosts_file(names)}))
        self.settled_at = time.monotonic() + PICKUP_S
