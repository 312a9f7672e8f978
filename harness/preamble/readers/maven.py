"""Maven: ~/.m2/settings.xml, one mirror of '*' and its server credentials."""

import xml.etree.ElementTree as ET

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".m2/settings.xml"
    if not path.exists():
        return None
    root = ET.parse(path).getroot()
    mirrors = root.findall("./mirrors/mirror")
    reader.expect(len(mirrors) == 1 and mirrors[0].findtext("mirrorOf") == "*", "maven: not one mirror of '*'")
    servers = root.findall("./servers/server")
    auth = "none"
    if servers:
        password = servers[0].findtext("password")
        reader.expect(servers[0].findtext("username") == reader.value(record.username_key) and password == reader.value(record.password_key),
                      f"maven: the server credentials are not {record.username_key} / {record.password_key}")
        auth = "basic"
    return mirrors[0].findtext("url") if mirrors else None, auth
