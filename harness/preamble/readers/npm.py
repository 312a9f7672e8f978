"""npm: ~/.npmrc, read as npm's ini parser and env-replace read it; the token under npm's key for the registry."""

import json
import re

from harness.contract import grammar
from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".npmrc"
    if not path.exists():
        return None
    settings = parse_npmrc(reader.written_text(path))
    url = settings.get("registry")
    replace = settings.get("replace-registry-host")
    reader.expect(replace in (None, "npmjs", "registry.npmjs.org"),
                  f"npm: replace-registry-host={replace}: lockfile URLs on registry.npmjs.org must go to the registry "
                  "(npmjs, the default), and `always` doubles a mirror's path without a lockfile (npm/cli#6110)")
    tokens = {k: v for k, v in settings.items() if k.endswith(":_authToken")}
    auth = "none"
    if tokens:
        reader.expect(list(tokens) == [grammar.npm_token_key(url) + ":_authToken"],
                      f"npm: token keys {list(tokens)} are not the key npm looks the registry's token up under")
        reader.expect(list(tokens.values()) == [reader.value(record.token_key)], f"npm: the token is not the value of {record.token_key}")
        auth = "token"
    return url, auth


def parse_npmrc(text: str) -> dict[str, str]:
    """The settings of an .npmrc as npm's ini parser and env-replace read them (with no variables set)."""
    settings = {}
    for line in re.split(r"[\r\n]+", text):
        if not line.strip() or line.lstrip()[0] in ";#" or line.startswith("["):
            continue
        key, _, value = line.partition("=")
        settings[_npm_env_replace(_ini_unsafe(key))] = _npm_env_replace(_ini_unsafe(value))
    return settings


def _ini_unsafe(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _npm_env_replace(value: str) -> str:
    def replace(match):
        escapes, name = match.group(1), match.group(2)
        if len(escapes) % 2:
            return match.group(0)[(len(escapes) + 1) // 2:]
        return escapes[len(escapes) // 2:] + "${" + name + "}"

    return re.sub(r"(?<!\\)(\\*)\$\{([^${}]+)\}", replace, value)
