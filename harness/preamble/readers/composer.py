"""Composer: config.json and auth.json in COMPOSER_HOME, packagist.org disabled, http-basic for the mirror's host."""

import json
from pathlib import Path
from urllib.parse import urlsplit

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    home = Path(reader.run.env.get("COMPOSER_HOME", reader.home / ".composer"))
    path = home / "config.json"
    if not path.exists():
        return None
    repositories = json.loads(reader.written_text(path)).get("repositories", {})
    reader.expect(repositories.get("packagist.org") is False, "composer: packagist.org is not disabled")
    url = repositories.get("proxy-config", {}).get("url")
    auth_path = home / "auth.json"
    auth = "none"
    if auth_path.exists():
        basic = json.loads(reader.written_text(auth_path)).get("http-basic", {})
        host = urlsplit(url).netloc.rsplit("@", 1)[-1]
        reader.expect(basic.get(host) == {"username": reader.value(record.username_key), "password": reader.value(record.password_key)},
                      f"composer: http-basic for {host} is not {record.username_key} / {record.password_key}")
        auth = "basic"
    return url, auth
