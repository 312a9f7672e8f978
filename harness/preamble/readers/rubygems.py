"""RubyGems: ~/.gemrc's one source and Bundler's mirror of rubygems.org (~/.bundle/config), without fall-back."""

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
    return reader.strip_userinfo("rubygems", sources[0], record)
