"""Maven: ~/.m2/settings.xml, a mirror of '*' (and the reference preamble's second one, of 'central', to the same
URL: Maven takes a mirror naming a repository's id over '*', as an image's global settings.xml may have one) with
each mirror's server credentials; and, when exported, the Maven wrapper's MVNW_REPOURL with
MVNW_USERNAME/MVNW_PASSWORD, which must agree with the mirror."""

import xml.etree.ElementTree as ET
from urllib.parse import unquote, urlsplit, urlunsplit

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".m2/settings.xml"
    if not path.exists():
        return None
    root = ET.fromstring(reader.written_text(path).encode("utf-8"))
    mirrors = root.findall("./mirrors/mirror")
    of = sorted(mirror.findtext("mirrorOf") for mirror in mirrors)
    reader.expect(of in (["*"], ["*", "central"]), "maven: not one mirror of '*' (and one of 'central')")
    reader.expect(len({mirror.findtext("url") for mirror in mirrors}) == 1, "maven: the mirrors have different URLs")
    servers = {server.findtext("id"): server for server in root.findall("./servers/server")}
    auth = "none"
    if servers:
        for mirror in mirrors:
            server = servers.get(mirror.findtext("id"))
            reader.expect(server is not None and server.findtext("username") == reader.value(record.username_key)
                          and server.findtext("password") == reader.value(record.password_key),
                          f"maven: the server credentials of mirror {mirror.findtext('id')} are not "
                          f"{record.username_key} / {record.password_key}")
        auth = "basic"
    url = mirrors[0].findtext("url") if mirrors else None
    if url and "MVNW_REPOURL" in reader.run.env:
        _wrapper(reader, record, url)
    return url, auth


def _wrapper(reader, record: ReportRecord, url: str) -> None:
    """./mvnw appends /org/apache/maven/... to MVNW_REPOURL as written and downloads with MVNW_USERNAME and
    MVNW_PASSWORD: the mirror without user-info or trailing '/', its credentials (or user-info, decoded) beside."""
    env = reader.run.env
    parts = urlsplit(url)
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1])).rstrip("/")
    reader.expect(env["MVNW_REPOURL"] == bare, "maven: MVNW_REPOURL is not the mirror without user-info and trailing '/'")
    if record.auth == "basic":
        user, password = reader.value(record.username_key), reader.value(record.password_key)
    elif "@" in parts.netloc:  # decoded to the bytes the environment holds (read back as os.fsdecode does)
        user, password = (unquote(part or "", errors="surrogateescape") for part in (parts.username, parts.password))
    else:
        user = password = None
    reader.expect((env.get("MVNW_USERNAME"), env.get("MVNW_PASSWORD")) == (user, password),
                  "maven: MVNW_USERNAME / MVNW_PASSWORD are not the mirror's credentials")
