"""Go: the go env file (~/.config/go/env) and the exported GOPROXY, GOSUMDB and GOTOOLCHAIN, which must agree."""

import re

from harness.preamble.interface import ReportRecord


def read(reader, record: ReportRecord):
    path = reader.home / ".config/go/env"
    if not path.exists():
        return None
    # Go reads its env file by '\n' only; str.splitlines would also split at U+2028 and friends.
    written = dict(item.split("=", 1) for item in reader.written_text(path).split("\n") if "=" in item)
    for name in ("GOPROXY", "GOSUMDB", "GOTOOLCHAIN"):
        reader.expect(reader.run.env.get(name) == written.get(name), f"go: the exported {name} differs from the go env file")
    proxy = written.get("GOPROXY", "")
    reader.expect(not re.search(r"(^|[,|])(direct|off)($|[,|])", proxy), "go: GOPROXY falls back to direct")
    reader.expect(written.get("GOTOOLCHAIN") == "local", "go: GOTOOLCHAIN may download a toolchain")
    reader.expect(written.get("GOSUMDB") == f"sum.golang.org {proxy.rstrip('/')}/sumdb/sum.golang.org",
                  "go: the checksum database is not reached through the proxy")
    return reader.strip_userinfo("go", proxy, record)
