"""pip: ~/.config/pip/pip.conf, one index-url (basic credentials as its user-info), no extra index."""

import configparser

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".config/pip/pip.conf"
    if not path.exists():
        return None
    parser = configparser.RawConfigParser()
    parser.read_string(reader.written_text(path))
    reader.expect(not parser.has_option("global", "extra-index-url"), "pip: an extra index is configured")
    return reader.strip_userinfo("python", parser.get("global", "index-url"), record)
