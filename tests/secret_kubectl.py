"""The real kubectl the Secret tests compare against (v1.32: later versions drop `creationTimestamp: null`)."""

import os
import re
import shutil
import subprocess

KUBECTL_SETTING = "AIRGAP_KUBECTL"  # path of a kubectl v1.32.x; default: `kubectl` on PATH
WANTED_VERSION = re.compile(r"Client Version: v1\.32\.")


def find_kubectl() -> tuple[str | None, str]:
    """(path, "") for a usable kubectl v1.32, or (None, why not)."""
    path = os.environ.get(KUBECTL_SETTING) or shutil.which("kubectl")
    if not path:
        return None, f"no kubectl on PATH and {KUBECTL_SETTING} unset"
    version = subprocess.run([path, "version", "--client"], capture_output=True, text=True,
                             env=_isolated_env()).stdout
    if not WANTED_VERSION.search(version):
        return None, f"{path} is not kubectl v1.32 ({version.strip().splitlines()[:1]}); set {KUBECTL_SETTING}"
    return path, ""


def _isolated_env() -> dict[str, str]:
    """No kubeconfig: the output must not depend on a context's namespace."""
    return {**os.environ, "KUBECONFIG": os.devnull}


def kubectl_create(kubectl: str, directory, name: str, namespace: str | None = None, output: str = "yaml"):
    """`kubectl create secret generic NAME --from-file=DIR --dry-run=client -o OUTPUT` (yaml or json)."""
    command = [kubectl, "create", "secret", "generic", name, f"--from-file={directory}",
               "--dry-run=client", "-o", output]
    if namespace:
        command += ["-n", namespace]
    return subprocess.run(command, capture_output=True, env=_isolated_env())
