"""RubyGems: ~/.gemrc's one source and Bundler's mirror of rubygems.org (~/.bundle/config), without fall-back."""

from urllib.parse import unquote, unquote_plus, urlsplit

import yaml

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".gemrc"
    if not path.exists():
        return None
    sources = yaml.safe_load(reader.written_text(path)).get(":sources")
    reader.expect(isinstance(sources, list) and len(sources) == 1, f"gem: sources are {sources}, not one mirror")
    bundle = yaml.safe_load(reader.written_text(reader.home / ".bundle/config"))
    mirrors = {k: v for k, v in bundle.items() if k.startswith("BUNDLE_MIRROR__")}
    reader.expect(mirrors == {"BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/": sources[0]}, "bundler: the rubygems.org mirror is not the gem source")
    reader.expect(not any("FALLBACK_TIMEOUT" in k for k in bundle), "bundler: the mirror may fall back to rubygems.org")
    # RubyGems and Bundler read the user-info as a form does ('+' a space): what they send must be what is meant,
    # the credentials' files or the user-info of the value as RFC 3986 reads it
    written = urlsplit(sources[0])
    if written.username is not None:
        value = urlsplit(reader.value(record.key) or "")
        meant = ((reader.value(record.username_key), reader.value(record.password_key)) if record.auth == "basic"
                 else (unquote(value.username or ""), unquote(value.password or "")))
        reader.expect((unquote_plus(written.username), unquote_plus(written.password or "")) == meant,
                      "gem: the client reads other credentials from the URL's user-info than the configured ones")
    return reader.strip_userinfo("rubygems", sources[0], record)
