"""pip: ~/.config/pip/pip.conf, one index-url (basic credentials as its user-info), no extra index; trusted-host only
for an http:// index, and then exactly its host[:port] (pip ignores a plain-http index on any other host)."""

import configparser
from urllib.parse import urlsplit

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".config/pip/pip.conf"
    if not path.exists():
        return None
    parser = configparser.RawConfigParser()
    parser.read_string(reader.written_text(path))
    reader.expect(not parser.has_option("global", "extra-index-url"), "pip: an extra index is configured")
    index = parser.get("global", "index-url")
    wanted = urlsplit(index).netloc.rsplit("@", 1)[-1] if index.startswith("http://") else None
    reader.expect(parser.get("global", "trusted-host", fallback=None) == wanted,
                  "pip: trusted-host is not exactly the http:// index's host[:port] (none for https://)")
    return reader.strip_userinfo("python", index, record)
