"""NuGet v3 feed for api.nuget.org: service index, flat container (what restore reads) and registrations."""


from harness.stack.content import Generated
from harness.stack.content.archives import json_bytes, zip_bytes

SITE = "https://api.nuget.org"
FLAT = f"{SITE}/v3-flatcontainer/"
REGISTRATIONS = f"{SITE}/v3/registration5-semver1/"


def nuspec(pkg: dict) -> bytes:
    deps = "".join(f'        <dependency id="{d}" version="{v}" />\n' for d, v in sorted(pkg.get("dependencies", {}).items()))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">\n  <metadata>\n'
            f"    <id>{pkg['id']}</id>\n    <version>{pkg['version']}</version>\n    <authors>airgap-harness</authors>\n"
            f"    <description>airgap-harness fixture {pkg['id']}</description>\n"
            f'    <dependencies>\n      <group targetFramework=".NETStandard2.0">\n{deps}      </group>\n'
            f"    </dependencies>\n  </metadata>\n</package>\n").encode()


def nupkg(pkg: dict) -> bytes:
    content_types = ('<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                     'package/2006/content-types"><Default Extension="nuspec" ContentType="application/octet"/>'
                     '<Default Extension="_" ContentType="application/octet"/></Types>')
    return zip_bytes({f"{pkg['id']}.nuspec": nuspec(pkg), "[Content_Types].xml": content_types.encode(),
                      "lib/netstandard2.0/_._": b""})


def feed_layout(packages: list[dict]) -> dict[str, bytes]:
    tree = {"v3/index.json": json_bytes({"version": "3.0.0", "resources": [
        {"@id": FLAT, "@type": "PackageBaseAddress/3.0.0"},
        {"@id": REGISTRATIONS, "@type": "RegistrationsBaseUrl"},
        {"@id": REGISTRATIONS, "@type": "RegistrationsBaseUrl/3.0.0-beta"},
    ]})}
    by_id: dict[str, list[dict]] = {}
    for pkg in packages:
        by_id.setdefault(pkg["id"].lower(), []).append(pkg)
    for lower_id, versions in sorted(by_id.items()):
        items = []
        for pkg in versions:
            version = pkg["version"].lower()
            base = f"v3-flatcontainer/{lower_id}/{version}/{lower_id}.{version}"
            tree[f"{base}.nupkg"] = nupkg(pkg)
            tree[f"{base}.nuspec"] = nuspec(pkg)
            items.append({"@id": f"{REGISTRATIONS}{lower_id}/{version}.json", "packageContent": f"{SITE}/{base}.nupkg",
                          "catalogEntry": {"id": pkg["id"], "version": pkg["version"], "listed": True,
                                           "dependencyGroups": [{"targetFramework": ".NETStandard2.0", "dependencies": [
                                               {"id": d, "range": f"[{v}, )"} for d, v in
                                               sorted(pkg.get("dependencies", {}).items())]}]}})
        listed = [p["version"].lower() for p in versions]
        tree[f"v3-flatcontainer/{lower_id}/index.json"] = json_bytes({"versions": listed})
        tree[f"v3/registration5-semver1/{lower_id}/index.json"] = json_bytes({"count": 1, "items": [{
            "@id": f"{REGISTRATIONS}{lower_id}/index.json#page/{listed[0]}/{listed[-1]}", "count": len(items),
            "lower": listed[0], "upper": listed[-1], "items": items}]})
    return tree


def generate(definition: dict) -> Generated:
    """The NuGet slice's content: the v3 feed (`feed`). No project: no recipe runs a NuGet client (recipes.yaml)."""
    return Generated(trees={"feed": feed_layout(definition["packages"])})
