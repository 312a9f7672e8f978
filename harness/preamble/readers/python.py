"""pip: ~/.config/pip/pip.conf, one index-url (basic credentials as its user-info), no extra index; trusted-host only
for an http:// index, and then exactly its host[:port] (pip ignores a plain-http index on any other host). A
command's section ([install], [download] ...: pip takes it over [global]) may repeat them, and must say the same:
the reference preamble writes them so that an image's own /etc/pip.conf cannot bring pypi.org back."""

import configparser
from urllib.parse import urlsplit

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".config/pip/pip.conf"
    if not path.exists():
        return None
    parser = configparser.RawConfigParser()
    parser.read_string(reader.written_text(path))
    index = parser.get("global", "index-url")
    wanted = urlsplit(index).netloc.rsplit("@", 1)[-1] if index.startswith("http://") else None
    for section in parser.sections():
        reader.expect(parser.get(section, "index-url", fallback=index) == index,
                      f"pip: [{section}] index-url is not [global]'s")
        for option in ("extra-index-url", "find-links"):
            reader.expect(not parser.get(section, option, fallback="").strip(), f"pip: [{section}] {option} is set")
        trusted = parser.get(section, "trusted-host", fallback=None if section == "global" else wanted)
        reader.expect(trusted == wanted,
                      f"pip: [{section}] trusted-host is not exactly the http:// index's host[:port] (none for https://)")
    return reader.strip_userinfo("python", index, record)
