"""Build every image the harness needs from Dockerfiles in images/, tagged by a hash of their inputs.

Nothing is pulled: the first image is a Debian rootfs from debootstrap, imported into the engine; the rest
build `FROM` it. A tag is `airgap-harness/<name>:<hash>` over the Dockerfile and context files, the parent
image id and the extra CA certificates, so a present tag means "already built, inputs unchanged".
"""

import contextlib
import fcntl
import functools
import hashlib
import io
import logging
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import docker.errors
import yaml

from harness.infra import paths, settings
from harness.infra.engine import apt_install, ensure_engine
from harness.infra.errors import UserError
from harness.infra.yamltext import YAMLSyntaxError, load_yaml

log = logging.getLogger(__name__)

LABEL = {"airgap-harness": "1"}
REPOSITORY = "airgap-harness"
SPECS_FILE = "images.yaml"


CA_DIR_IN_CONTEXT = "extra-ca"
HASH_LENGTH = 16


def images_dir() -> Path:
    return paths.images_dir()


@functools.lru_cache(maxsize=8)
def _read_specs(directory: Path) -> dict:
    catalog_file = directory / SPECS_FILE
    try:
        specs = load_yaml(catalog_file.read_text())
    except (OSError, YAMLSyntaxError) as error:
        raise UserError(f"image list {catalog_file} cannot be read: {error}") from None
    for name, entry in specs.items():
        if "bootstrap" not in entry and entry.get("from") not in specs:
            raise UserError(f"{catalog_file}: image {name!r} builds from unknown image {entry.get('from')!r}")
    return specs


def specs() -> dict:
    """images/images.yaml: how each image is built and run, read when first needed."""
    return _read_specs(images_dir())


def image_names() -> list[str]:
    """The images built from a Dockerfile (every one but the bootstrapped base)."""
    return [name for name, entry in specs().items() if "bootstrap" not in entry]


def _entry(name: str) -> dict:
    if name not in specs():
        raise UserError(f"unknown image {name!r}: known images are {', '.join(image_names())}")
    return specs()[name]


def run_options(name: str) -> dict:
    """Keyword arguments for docker-py `containers.run()` that image `name` needs (images.yaml `run_options`)."""
    return dict(_entry(name).get("run_options", {}))


def starts_slowly(name: str) -> bool:
    """Whether a server of image `name` spends seconds of CPU starting (images.yaml `starts_slowly`)."""
    return bool(_entry(name).get("starts_slowly", False))


def _digest(parts: list[bytes]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big") + part)  # length-prefixed: no two input lists hash alike
    return sha.hexdigest()[:HASH_LENGTH]


def _context_files(name: str) -> list[Path]:
    context = images_dir() / name
    if not (context / "Dockerfile").is_file():
        raise UserError(f"image {name!r}: {context / 'Dockerfile'} is missing")
    return sorted(path for path in context.rglob("*") if path.is_file())


def _ca_files(extra_ca_certs) -> list[tuple[str, bytes]]:
    """(name in the build context, contents) per extra CA file, numbered so equal basenames cannot collide."""
    return [(f"{index:02d}-{path.stem}.crt", path.read_bytes()) for index, path in enumerate(extra_ca_certs)]


def image_tag(name: str, parent_id: str, extra_ca_certs=()) -> str:
    """The tag `name` gets for these inputs: changing any context file, the parent or a CA file changes it."""
    context = images_dir() / name
    parts = [name.encode(), parent_id.encode()]
    for path in _context_files(name):
        parts += [str(path.relative_to(context)).encode(), path.read_bytes()]
    for ca_name, contents in _ca_files(extra_ca_certs):
        parts += [ca_name.encode(), contents]
    return f"{REPOSITORY}/{name}:{_digest(parts)}"


def _bootstrap_tag(name: str) -> str:
    spec = specs()[name]["bootstrap"]
    return f"{REPOSITORY}/{name}:{_digest([name.encode(), yaml.safe_dump(spec, sort_keys=True).encode()])}"


def _present(client: docker.DockerClient, tag: str):
    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def _bootstrap(client: docker.DockerClient, name: str, tag: str, state: settings.Settings) -> None:
    """debootstrap a Debian rootfs and `docker import` it (the one image we cannot build FROM anything)."""
    spec = specs()[name]["bootstrap"]
    apt_install("debootstrap", "debootstrap", state.state_dir)
    log.info("bootstrapping %s: debootstrap --variant=%s %s (about a minute)", tag, spec["variant"], spec["suite"])
    with tempfile.TemporaryDirectory(dir=state.state_dir, prefix="rootfs-") as work:
        rootfs, tar_path = Path(work) / "rootfs", Path(work) / "rootfs.tar"
        include = [f"--include={','.join(spec['include'])}"] if spec.get("include") else []
        command = ["debootstrap", f"--variant={spec['variant']}", *include, spec["suite"], str(rootfs),
                   state.debian_mirror]
        log_path = state.state_dir / "debootstrap.log"
        with log_path.open("ab") as out:
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise UserError(f"debootstrap failed (exit {result.returncode}) with mirror {state.debian_mirror!r} "
                            f"(setting {settings.DEBIAN_MIRROR_VAR}); see {log_path}")
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / leftover, ignore_errors=True)
            (rootfs / leftover / "partial").mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tar_path), "."], check=True)
        repository, image_tag_part = tag.split(":")
        client.api.import_image_from_file(str(tar_path), repository=repository, tag=image_tag_part,
                                          changes=[f"LABEL {key}={value}" for key, value in LABEL.items()])


def _build_context(name: str, extra_ca_certs) -> io.BytesIO:
    """The context directory as a tar, plus extra-ca/ holding the extra CA files (empty but present if none)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(images_dir() / name, arcname=".")
        files = _ca_files(extra_ca_certs) or [(".keep", b"")]
        for ca_name, contents in files:
            info = tarfile.TarInfo(f"{CA_DIR_IN_CONTEXT}/{ca_name}")
            info.size, info.mode = len(contents), 0o644
            tar.addfile(info, io.BytesIO(contents))
    buffer.seek(0)
    return buffer


BUILD_ATTEMPTS = 2  # a second try rides the layer cache; it is there for a Debian mirror or DNS hiccup


TLS_FAILURE = re.compile(r"CERTIFICATE_VERIFY_FAILED|SELF_SIGNED|self.signed certificate|unable to get local issuer")


def _build(client: docker.DockerClient, name: str, tag: str, parent_tag: str, extra_ca_certs) -> None:
    for attempt in range(1, BUILD_ATTEMPTS + 1):
        log.info("building %s from %s%s", tag, parent_tag, f" (attempt {attempt})" if attempt > 1 else "")
        error, output = _build_once(client, name, tag, parent_tag, extra_ca_certs)
        if error is None:
            return
        log.warning("building %s failed: %s", name, error)
        tls_failed = any(TLS_FAILURE.search(line) for line in output)
        if tls_failed:
            break  # a missing CA fails the same way every time
    details = "\n".join(output[-20:])
    hint = (f"\nTLS verification failed inside the build: behind a TLS-intercepting proxy, set "
            f"{settings.EXTRA_CA_VAR} to its CA files (colon-separated)") if tls_failed else ""
    raise UserError(f"building image {name!r} (images/{name}/Dockerfile) failed: {error}\n{details}{hint}")


def _build_once(client, name, tag, parent_tag, extra_ca_certs) -> tuple[str | None, list[str]]:
    """One build, its progress logged; (error message or None, output lines)."""
    shares = specs()[name].get("cpu_shares")  # images.yaml: a weight for its RUN steps while images build side by side
    stream = client.api.build(fileobj=_build_context(name, extra_ca_certs), custom_context=True, tag=tag,
                              buildargs={"BASE": parent_tag}, labels=LABEL, rm=True, forcerm=True, decode=True,
                              container_limits={"cpushares": shares} if shares else None)
    output: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            return chunk["error"].strip(), output
        text = chunk.get("stream", "").rstrip()
        if text:
            output.append(text)
            log.debug("%s: %s", name, text)
            if text.startswith("Step "):
                log.info("%s: %s", name, text)
    return None, output


# Tags this process built (not found present), so callers and tests can tell a build from a cache hit.
BUILT: list[str] = []


def ensure_image(name: str, client: docker.DockerClient | None = None, progress=None) -> str:
    """Return the tag of image `name`, building it (and what it builds on) only if that tag is missing.

    `progress` (a callable taking one line) hears of each build as it starts and ends; a present image is
    not mentioned."""
    if name not in specs():
        raise UserError(f"unknown image {name!r}: known images are {', '.join(image_names())}")
    client = client or ensure_engine()
    return _ensure(name, client, settings.load(), progress or (lambda line: None), {})


HEARTBEAT_S = 30  # a build longer than this says it is still going, so a log is never silent for minutes


@contextlib.contextmanager
def _heartbeat(beat, every: float = HEARTBEAT_S):
    """Call `beat` every `every` seconds while the block runs."""
    done = threading.Event()
    thread = threading.Thread(target=lambda: [beat() for _ in iter(lambda: done.wait(every), True)], daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextlib.contextmanager
def _tag_lock(state: settings.Settings, tag: str, waiting=lambda: None):
    """One builder per tag across processes: others wait, then find it built. Other tags do not wait."""
    locks = state.state_dir / "image-locks"
    locks.mkdir(exist_ok=True)
    with (locks / f"{tag.replace('/', '_').replace(':', '_')}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _ensure(name: str, client: docker.DockerClient, state: settings.Settings, say, seen: dict) -> str:
    """`seen`: name -> "present" | "built" | "built elsewhere", for the images this call looked at."""
    entry = specs()[name]
    parent_tag = None if "bootstrap" in entry else _ensure(entry["from"], client, state, say, seen)
    if parent_tag is None:
        tag = _bootstrap_tag(name)
    else:
        tag = image_tag(name, client.images.get(parent_tag).id, state.extra_ca_certs)
    if _present(client, tag):
        seen.setdefault(name, "present")
        return tag
    with _tag_lock(state, tag, lambda: say(f"image {name}: waiting for another build of {tag}")):
        if _present(client, tag):  # another process built it while we waited
            seen[name] = "built elsewhere"
            return tag
        started = time.monotonic()
        with _heartbeat(lambda: say(f"image {name}: still building ({time.monotonic() - started:.0f} s so far)")):
            if parent_tag is None:
                say(f"image {name}: bootstrapping {tag} with debootstrap (about a minute)")
                _bootstrap(client, name, tag, state)
            else:
                say(f"image {name}: building {tag} from {parent_tag.split('/', 1)[-1]}")
                _build(client, name, tag, parent_tag, state.extra_ca_certs)
        say(f"image {name}: built {tag} in {time.monotonic() - started:.1f} s")
        seen[name] = "built"
        BUILT.append(tag)
    return tag


def planned_tag(name: str, client: docker.DockerClient | None = None) -> str | None:
    """The tag `name` has for the current inputs, without building; None while what it builds on is missing."""
    client = client or ensure_engine()
    entry = specs()[name]
    if "bootstrap" in entry:
        return _bootstrap_tag(name)
    parent_tag = planned_tag(entry["from"], client)
    parent = parent_tag and _present(client, parent_tag)
    return image_tag(name, parent.id, settings.load().extra_ca_certs) if parent else None


def status(client: docker.DockerClient | None = None) -> dict[str, tuple[str | None, bool]]:
    """name -> (current tag or None, whether that tag is built), for every image including the base."""
    client = client or ensure_engine()
    result = {}
    for name in specs():
        tag = planned_tag(name, client)
        result[name] = (tag, bool(tag and _present(client, tag)))
    return result


def ensure_images(names=None, client: docker.DockerClient | None = None, progress=None) -> dict[str, str]:
    """Ensure several images (default: all); returns name -> tag.

    With `progress` (a callable taking one line): a line as each build starts and ends (name, tag, seconds),
    then one summary line, which is all a run whose images are present prints."""
    client = client or ensure_engine()
    say = progress or (lambda line: None)
    started, seen, state = time.monotonic(), {}, settings.load()
    names = list(names or image_names())
    unknown = [name for name in names if name not in specs()]
    if unknown:
        raise UserError(f"unknown image {unknown[0]!r}: known images are {', '.join(image_names())}")
    # Siblings build side by side (they share only what they build on, which the tag lock builds once): on a
    # fresh machine the servers' images build while the builder, the longest, does.
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        tags = dict(zip(names, pool.map(lambda name: _ensure(name, client, state, say, seen), names)))
    say(summary(seen, time.monotonic() - started))
    return tags


def summary(seen: dict, seconds: float) -> str:
    """One line for a set of ensured images: how many were present, how many built and in how long."""
    present = sorted(name for name, how in seen.items() if how == "present")
    built = sorted(name for name, how in seen.items() if how != "present")
    if not built:
        return f"images: all {len(present)} present ({REPOSITORY}/*, tagged by the hash of their inputs)"
    return (f"images: {len(built)} built ({', '.join(built)}) in {seconds:.1f} s, "
            f"{len(present)} present")


def prune(client: docker.DockerClient | None = None, names=None) -> list[str]:
    """Remove images of `names` (default: all) that are not current for these inputs and settings, unless in use.

    Tags change whenever a Dockerfile or a CA changes, so old builds pile up (the builder is ~2 GB). Returns
    the tags removed.
    """
    unknown = sorted(set(names or ()) - set(specs()))
    if unknown:
        raise UserError(f"unknown image(s) {', '.join(unknown)}: known images are {', '.join(specs())}")
    client = client or ensure_engine()
    current = {tag for tag, _present in status(client).values() if tag}
    repositories = {f"{REPOSITORY}/{name}" for name in (names or specs())}
    in_use = {container.image.id for container in client.containers.list(all=True, ignore_removed=True)
              if container.image}
    removed = []
    for image in client.images.list(filters={"label": "=".join(next(iter(LABEL.items())))}):
        stale = [tag for tag in image.tags if tag.split(":")[0] in repositories and tag not in current]
        if stale and len(stale) == len(image.tags) and image.id not in in_use:
            for tag in stale:
                try:
                    client.images.remove(tag)
                    removed.append(tag)
                except docker.errors.APIError as error:  # a child image still needs it: keep it
                    log.info("keeping %s: %s", tag, error.explanation)
    return removed
