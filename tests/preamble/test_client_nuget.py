"""NuGet reads back the NuGet.Config the preamble wrote: the mirror as the only source, hostile credentials intact.

No NuGet client runs here: Debian's only one (nuget 2.8.7 on mono) speaks just the v2 protocol and hangs
without a TTY, and the .NET SDK is not packaged for Debian (harness/stack/managers/nuget.yaml). So the file is
read the way NuGet.Configuration's settings loader reads it, with a conforming XML 1.0 parser (expat here,
System.Xml there, which both unescape and normalise attribute values the same way): `packageSources` applied in
order (`<clear/>` drops every source inherited from other config files, `<add>` adds one), and credentials found
under `packageSourceCredentials/<the source key as an XML name>` as `Username` and `ClearTextPassword`.
"""

import re
import xml.etree.ElementTree as ET

from loopback_mirror import HOSTILE_PASSWORD, HOSTILE_USER, apply_preamble, write_config

URL = "https://nexus.example.com/repository/nuget-proxy/index.json"
# every character XML attribute values must escape, and the ones attribute-value normalisation would change
PASSWORD = HOSTILE_PASSWORD + " & &amp; <![CDATA[x]]> ]]> \u00e9\u4e2d"


def nuget_view(path) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(source key -> URL, source key -> credentials) as NuGet derives them from one config file."""
    root = ET.parse(path).getroot()
    assert root.tag == "configuration"
    sources = {"nuget.org": "https://api.nuget.org/v3/index.json"}  # inherited from the machine's config
    for item in root.find("packageSources"):
        if item.tag == "clear":
            sources.clear()
        elif item.tag == "add":
            sources[item.get("key")] = item.get("value")
        elif item.tag == "remove":
            sources.pop(item.get("key"), None)
    credentials = {}
    for section in root.findall("packageSourceCredentials/*"):
        credentials[section.tag] = {item.get("key"): item.get("value") for item in section.findall("add")}
    return sources, credentials


def test_nuget_config_names_the_mirror_only_with_hostile_credentials(tmp_path):
    config = write_config(tmp_path / "config", {
        "pkg-nuget-url": URL,
        "pkg-nuget-username": HOSTILE_USER,
        "pkg-nuget-password": PASSWORD,
    })
    home = tmp_path / "home"
    apply_preamble("buildpack", config, home)
    dotnet, mono = home / ".nuget/NuGet/NuGet.Config", home / ".config/NuGet/NuGet.Config"
    assert dotnet.read_bytes() == mono.read_bytes()
    sources, credentials = nuget_view(dotnet)
    assert list(sources.values()) == [URL]
    [key] = sources
    # NuGet finds a source's credentials under XmlConvert.EncodeLocalName(key): a key that is already an XML
    # name is its own element name
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9._-]*", key)
    assert credentials == {key: {"Username": HOSTILE_USER, "ClearTextPassword": PASSWORD}}
    assert dotnet.stat().st_mode & 0o077 == 0 and mono.stat().st_mode & 0o077 == 0


def test_nuget_config_without_credentials_has_no_credentials_section(tmp_path):
    config = write_config(tmp_path / "config", {"pkg-nuget-url": URL})
    home = tmp_path / "home"
    apply_preamble("ballerina", config, home)
    sources, credentials = nuget_view(home / ".nuget/NuGet/NuGet.Config")
    assert list(sources.values()) == [URL] and credentials == {}
