"""Python wheels and sdists for the simulated PyPI.

An sdist either carries its own PEP 517 backend (`backend-path = ["."]`, no build requirements), so `pip`
builds it inside the air gap without fetching setuptools, or names a backend distribution (`backend:`)
that pip must fetch into its isolated build environment: the fetch a misconfigured index would leak.
Both use the same small backend, which reads the name and version from the sdist's PKG-INFO.

A customer's project (harness/customer/python.py) adds stand-ins: `extras` (Provides-Extra lines, so pip finds
the extras a requirement names) and, for a project pip builds itself (`pip download .`), a `backend` kind with
`backend_module` (setuptools.build_meta, hatchling.build, ...): a wheel whose module at that path is a PEP 517
backend that reads the project's own pyproject.toml, so pip's isolated build environment fetches it from the
index as it would fetch the real one.
"""

import base64
import hashlib
import re

from harness.stack.content import Generated
from harness.stack.content.archives import tgz_bytes, zip_bytes

BACKEND = '''"""PEP 517 backend of airgap-harness fixtures: writes a pure-Python wheel with zipfile."""
import base64, hashlib, os, re, zipfile


def _pkg_info():
    fields = dict(line.split(": ", 1) for line in open("PKG-INFO").read().splitlines() if ": " in line)
    return fields["Name"], fields["Version"]


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    NAME, VERSION = _pkg_info()
    MODULE = DIST = re.sub(r"[-_.]+", "_", NAME).lower()
    info = "%s-%s.dist-info" % (DIST, VERSION)
    metadata = "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (NAME, VERSION)
    files = {MODULE + "/__init__.py": open(os.path.join(MODULE, "__init__.py"), "rb").read(),
             info + "/METADATA": metadata.encode(),
             info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: airgap-backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\\n" % (path, digest, len(data))
    files[info + "/RECORD"] = (record + info + "/RECORD,,\\n").encode()
    name = "%s-%s-py3-none-any.whl" % (DIST, VERSION)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return name
'''
BACKEND_MODULE = "airgap_backend"

# setup.cfg's declarative metadata as setuptools reads it: the stand-in backend runs this code, and the harness
# (harness/customer/python.py) runs the same text to read a project's dependencies.
SETUP_CFG_READER = '''
def read_setup_cfg(text):
    """(name, version, install_requires) of a setup.cfg: a dangling list one a line, else ';'-separated."""
    import configparser
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    value = parser.get("options", "install_requires", fallback="")
    items = value.splitlines() if "\\n" in value else value.split(";")
    return (parser.get("metadata", "name", fallback=""), parser.get("metadata", "version", fallback=""),
            [item.strip() for item in items if item.strip() and not item.strip().startswith("#")])
'''
_setup_cfg_namespace: dict = {}
exec(SETUP_CFG_READER, _setup_cfg_namespace)  # noqa: S102 - our own constant text, shared with the backend
read_setup_cfg = _setup_cfg_namespace["read_setup_cfg"]

# The stand-in of a customer project's build backend: its metadata from pyproject.toml's [project] table (name,
# version, dependencies, optional-dependencies), else setup.cfg's, with the hooks pip calls for `pip download .`
# and `-e .`.
PROJECT_BACKEND = '''"""PEP 517 backend standing in for a real one (airgap-harness): metadata from pyproject.toml [project]."""
import base64, hashlib, os, re, sys, zipfile

try:
    import tomllib
except ImportError:  # Python < 3.11: no TOML reader, so no dependencies
    tomllib = None
''' + SETUP_CFG_READER + '''

def _project():
    project = {}
    if tomllib is not None and os.path.exists("pyproject.toml"):
        with open("pyproject.toml", "rb") as handle:
            project = tomllib.load(handle).get("project", {})
    if not project and os.path.exists("setup.cfg"):  # setuptools' declarative configuration
        with open("setup.cfg", encoding="utf-8") as handle:
            name, version, requires = read_setup_cfg(handle.read())
        project = {"name": name or "UNKNOWN", "version": version or "0.0.0", "dependencies": requires}
    return project


def _metadata():
    project = _project()
    name, version = project.get("name", "UNKNOWN"), project.get("version", "0.0.0")
    lines = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    lines += ["Requires-Dist: " + dep for dep in project.get("dependencies", [])]
    for extra, deps in sorted(project.get("optional-dependencies", {}).items()):
        lines.append("Provides-Extra: " + extra)
        for dep in deps:
            spec, _, marker = dep.partition(";")
            condition = 'extra == "%s"' % extra
            lines.append("Requires-Dist: %s; %s" % (spec.strip(), "(%s) and %s" % (marker.strip(), condition)
                                                   if marker.strip() else condition))
    return re.sub(r"[-_.]+", "_", name).lower(), version, ("\\n".join(lines) + "\\n").encode()


def _info(directory):
    dist, version, metadata = _metadata()
    info = "%s-%s.dist-info" % (dist, version)
    os.makedirs(os.path.join(directory, info), exist_ok=True)
    with open(os.path.join(directory, info, "METADATA"), "wb") as handle:
        handle.write(metadata)
    return info


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _info(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist, version, metadata = _metadata()
    info = "%s-%s.dist-info" % (dist, version)
    files = {dist + "/__init__.py": b"", info + "/METADATA": metadata,
             info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: airgap-standin-backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\\n" % (path, digest, len(data))
    files[info + "/RECORD"] = (record + info + "/RECORD,,\\n").encode()
    name = "%s-%s-py3-none-any.whl" % (dist, version)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return name


get_requires_for_build_editable = get_requires_for_build_sdist = get_requires_for_build_wheel
prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel
build_editable = build_wheel
__legacy__ = sys.modules[__name__]  # setuptools.build_meta:__legacy__, pip's backend without [build-system]
'''


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata(dist: dict) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {dist['name']}", f"Version: {dist['version']}",
             f"Summary: airgap-harness fixture {dist['name']}"]
    lines += [f"Provides-Extra: {extra}" for extra in dist.get("extras", [])]
    lines += [f"Requires-Dist: {requirement}" for requirement in dist.get("requires", [])]
    return ("\n".join(lines) + "\n\n").encode()


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def _backend_files(backend: str) -> dict[str, bytes]:
    """The stand-in backend at the dotted path pip imports (`a.b.c` -> a/__init__.py, a/b/__init__.py, a/b/c.py)."""
    parts = backend.split(":")[0].split(".")
    if not all(part.isidentifier() for part in parts):
        raise ValueError(f"backend_module {backend!r}: not a dotted module path")
    files = {"/".join(parts[:end]) + "/__init__.py": b"" for end in range(1, len(parts))}
    files["/".join(parts) + ("/__init__.py" if len(parts) == 1 else ".py")] = PROJECT_BACKEND.encode()
    return files


def wheel(dist: dict) -> tuple[str, bytes]:
    filename, files = wheel_files(dist)
    return filename, zip_bytes(files)


def wheel_files(dist: dict) -> tuple[str, dict[str, bytes]]:
    """A wheel's file name and the files it holds (a single download of leaks.yaml is made from them)."""
    stem = f"{normalized(dist['name'])}-{dist['version']}"
    info = f"{stem}.dist-info"
    files = {
        f"{dist['module']}/__init__.py": (BACKEND if dist["kind"] == "backend" and "backend_module" not in dist
                                          else f"__version__ = {dist['version']!r}\n").encode(),
        f"{info}/METADATA": _metadata(dist),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: airgap-harness\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if dist["kind"] == "backend" and "backend_module" in dist:
        files |= _backend_files(dist["backend_module"])
    record = "".join(_record_line(path, files[path]) for path in sorted(files))
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    return f"{stem}-py3-none-any.whl", files


def sdist(dist: dict) -> tuple[str, bytes]:
    stem = f"{normalized(dist['name'])}-{dist['version']}"
    files = {"PKG-INFO": _metadata(dist),
             f"{dist['module']}/__init__.py": f"__version__ = {dist['version']!r}\n".encode()}
    if "backend" in dist:  # fetched into pip's isolated build environment from the index
        build_system = f'requires = ["{dist["backend"]}"]\nbuild-backend = "{normalized(dist["backend"])}"\n'
    else:
        build_system = f'requires = []\nbuild-backend = "{BACKEND_MODULE}"\nbackend-path = ["."]\n'
        files[f"{BACKEND_MODULE}.py"] = BACKEND.encode()
    files["pyproject.toml"] = (f"[build-system]\n{build_system}\n"
                               f'[project]\nname = "{dist["name"]}"\nversion = "{dist["version"]}"\n').encode()
    return f"{stem}.tar.gz", tgz_bytes({f"{stem}/{path}": data for path, data in sorted(files.items())})


BUILDERS = {"wheel": wheel, "backend": wheel, "sdist": sdist}


def archive(dist: dict) -> tuple[str, bytes]:
    """The distribution's file name and bytes, as its kind makes it."""
    if dist.get("kind") not in BUILDERS:
        raise ValueError(f"fixtures/content/python.yaml: {dist.get('name')}: kind must be one of {sorted(BUILDERS)}")
    return BUILDERS[dist["kind"]](dist)


def distributions(dists: list[dict]) -> dict[str, bytes]:
    """File name -> archive, ready to upload to an index."""
    return dict(archive(dist) for dist in dists)


def project(definition: dict) -> dict[str, bytes]:
    return {"requirements.txt": "".join(f"{line}\n" for line in definition["requirements"]).encode()}


def generate(definition: dict) -> Generated:
    """The Python slice's content: the distributions to upload to the index (`distributions`) and the project."""
    return Generated(trees={"distributions": distributions(definition["distributions"])},
                     project=project(definition["project"]), make_project=project,
                     project_fields=('requirements',))
