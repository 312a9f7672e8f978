"""Go module proxy layout (@v/list, .info, .mod, .zip) and a consuming module whose go.sum carries the
real `h1:` hashes (golang.org/x/mod/sumdb/dirhash Hash1), so the go command verifies what it downloads.

A `+incompatible` version (a customer's stand-in, harness/customer/go.py) is a module without go.mod: its zip
has none and its .mod is the one-line go.mod the proxy synthesizes, as proxy.golang.org serves such versions.
"""

import base64
import hashlib
import json

from harness.stack.content import Generated, sumdb
from harness.stack.content.archives import EPOCH_ISO, zip_bytes


INCOMPATIBLE = "+incompatible"  # a version of a module that has no go.mod at that version (major version 2+)


def escape(path: str) -> str:
    """The proxy protocol's case encoding: an upper-case letter becomes '!' + its lower case."""
    return "".join(f"!{ch.lower()}" if ch.isupper() else ch for ch in path)


def hash1(files: dict[str, bytes]) -> str:
    summary = "".join(f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in sorted(files))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def _go_mod(module: str, requires: list[str], go: str = "1.19") -> bytes:
    text = f"module {module}\n\ngo {go}\n"
    if requires:
        text += "\nrequire (\n" + "".join(f"\t{line}\n" for line in requires) + ")\n"
    return text.encode()


def proxy_layout(modules: list[dict]) -> tuple[dict[str, bytes], dict[tuple[str, str], tuple[str, str]]]:
    """(tree, sums): the proxy files, and (module, version) -> (zip h1, go.mod h1) for go.sum lines."""
    tree: dict[str, bytes] = {}
    sums = {}
    versions: dict[str, list[str]] = {}
    for mod in modules:
        module, version = mod["module"], mod["version"]
        go_mod = _go_mod(module, mod.get("requires", []))
        prefix = f"{module}@{version}/"
        files = {prefix + path: text.encode() for path, text in mod.get("files", {}).items()}
        if version.endswith(INCOMPATIBLE):  # a v2+ module without go.mod: the proxy serves a synthesized one
            go_mod = f"module {module}\n".encode()
        else:
            files[prefix + "go.mod"] = go_mod
        base = f"{escape(module)}/@v/{escape(version)}"
        tree[f"{base}.info"] = json.dumps({"Version": version, "Time": EPOCH_ISO}).encode()
        tree[f"{base}.mod"] = go_mod
        tree[f"{base}.zip"] = zip_bytes(files)
        sums[(module, version)] = (hash1(files), hash1({"go.mod": go_mod}))
        versions.setdefault(module, []).append(version)
    for module, listed in versions.items():
        tree[f"{escape(module)}/@v/list"] = "".join(f"{v}\n" for v in sorted(listed)).encode()
    return tree, sums


def project(definition: dict, modules: list[dict], sums: dict) -> dict[str, bytes]:
    """go.mod listing every module of the build list (direct and indirect) and a matching go.sum."""
    direct = [line.split()[0] for line in definition["requires"]]
    needed = {m["module"]: m for m in modules}
    build_list, pending = {}, list(definition["requires"])
    while pending:
        module, version = pending.pop().split()
        if module not in build_list:
            build_list[module] = version
            pending.extend(needed[module].get("requires", []))
    requires = [f"{m} {v}" + ("" if m in direct else " // indirect") for m, v in sorted(build_list.items())]
    go_sum = ""
    for module, version in sorted(build_list.items()):
        zip_hash, mod_hash = sums[(module, version)]
        go_sum += f"{module} {version} {zip_hash}\n{module} {version}/go.mod {mod_hash}\n"
    first = direct[0]
    main = (f'package main\n\nimport (\n\t"fmt"\n\n\t"{first}"\n)\n\n'
            f"func main() {{ fmt.Println({first.rpartition('/')[2]}.Hello()) }}\n")
    go_mod = _go_mod(definition["module"], requires, definition.get("go", "1.19"))
    return {"go.mod": go_mod, "go.sum": go_sum.encode(), "main.go": main.encode()}


def generate(definition: dict) -> Generated:
    """The Go slice's content: the module proxy (`proxy`, with the checksum database under /sumdb/sum.golang.org/:
    the go command asks its GOPROXY first), the checksum database itself (`sumdb`) and the project."""
    modules = definition["modules"]
    proxy_tree, sums = proxy_layout(modules)
    sums_tree = sumdb.layout(sums)
    proxy_tree |= {f"sumdb/{sumdb.NAME}/{path}": data for path, data in (sums_tree | {"supported": b""}).items()}
    make = lambda project_definition: project(project_definition, modules, sums)  # noqa: E731
    return Generated(trees={"proxy": proxy_tree, "sumdb": sums_tree}, project=make(definition["project"]),
                     make_project=make,
                     project_fields=('module', 'requires', 'go'))
