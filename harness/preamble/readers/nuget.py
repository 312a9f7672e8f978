"""NuGet: NuGet.Config (the .NET SDK's ~/.nuget/NuGet and mono's ~/.config/NuGet copy), one source after <clear/>."""

import xml.etree.ElementTree as ET

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".nuget/NuGet/NuGet.Config"
    if not path.exists():
        return None
    mono = reader.home / ".config/NuGet/NuGet.Config"
    reader.expect(mono.exists() and mono.read_bytes() == path.read_bytes(), "nuget: ~/.config/NuGet/NuGet.Config (nuget.exe on mono) differs")
    root = ET.fromstring(reader.written_text(path).encode("utf-8"))
    sources = root.find("packageSources")
    children = [child.tag for child in sources]
    reader.expect(children == ["clear", "add"], f"nuget: packageSources is {children}, not <clear/> and one source")
    credentials = {e.get("key"): e.get("value") for e in root.findall("./packageSourceCredentials/proxy-config/add")}
    auth = "none"
    if credentials:
        reader.expect(credentials.get("Username") == reader.value(record.username_key) and credentials.get("ClearTextPassword") == reader.value(record.password_key),
                      f"nuget: the credentials are not {record.username_key} / {record.password_key}")
        auth = "basic"
    return sources.find("add").get("value"), auth
