"""Gradle: the init script ~/.gradle/init.d/proxy-config.gradle, its proxyConfig* Groovy string literals."""

import re

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".gradle/init.d/proxy-config.gradle"
    if not path.exists():
        return None
    text = reader.written_text(path)
    found = {m[1]: groovy_unquote(m[2]) for m in re.finditer(r"^def proxyConfig(\w+) = ('(?:[^'\\]|\\.)*')$", text, re.M)}
    auth = "none"
    if found.get("Username"):
        reader.expect(found["Username"] == reader.value(record.username_key) and found.get("Password") == reader.value(record.password_key),
                      f"gradle: the credentials are not {record.username_key} / {record.password_key}")
        auth = "basic"
    return found.get("Url"), auth


def groovy_unquote(literal: str) -> str:
    body = literal[1:-1]
    escapes = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t"}
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: chr(int(m[1][1:], 16)) if m[1][0] == "u" and len(m[1]) == 5 else escapes.get(m[1], m[1]), body)
