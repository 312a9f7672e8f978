"""Client commands for the servers' tests: each returns a shell script for the builder that fetches a
fixture with the real client, either from the public source (its real host name over TLS) or from a mirror
backend (its plain-HTTP address inside the run, as the gateway would forward)."""

import shlex

PROJECTS = "/work/projects"  # fixture projects are copied here in the builder


def _fresh(kind: str, where: str) -> str:
    return f"rm -rf /tmp/{where}-{kind} && cp -r {PROJECTS}/{kind} /tmp/{where}-{kind} && cd /tmp/{where}-{kind}"


def npm(where: str, registry: str | None) -> str:
    flag = f" --registry {registry}" if registry else ""
    return (f"{_fresh('npm', where)} && npm ci --no-audit --no-fund --cache /tmp/npm-cache-{where}{flag} && "
            "node -e \"console.log(require('airgap-fixture-hello').hello('air'), require('@airgap-fixture/scoped'))\"")


def pip(where: str, index: str | None) -> str:
    flag = f" --index-url {index} --trusted-host {index.split('/')[2].split(':')[0]}" if index else ""
    return (f"{_fresh('python', where)} && pip download --no-cache-dir -d dl -r requirements.txt{flag} && ls dl")


def maven(where: str, mirror: str | None) -> str:
    settings = ""
    if mirror:
        settings = ("printf '<settings><mirrors><mirror><id>m</id><mirrorOf>*</mirrorOf><url>%s</url></mirror>"
                    f"</mirrors></settings>' {mirror} > settings.xml && ")
    flag = " -s settings.xml" if mirror else ""
    return (f"{_fresh('maven', where)} && {settings}mvn -B -C -Dmaven.repo.local=/tmp/m2-{where}{flag} validate && "
            f"ls /tmp/m2-{where}/org/airgap/fixture/util-lib/2.1.0/util-lib-2.1.0.jar")


def gradle(where: str, plugin_repo: str | None) -> str:
    flag = f" -PpluginRepo={plugin_repo}" if plugin_repo else ""
    return (f"{_fresh('gradle', where)} && gradle --no-daemon -q -g /tmp/gradle-home-{where}{flag} fetch")


def go(where: str, proxy: str) -> str:
    return (f"{_fresh('go', where)} && export GOPROXY={proxy} GOMODCACHE=/tmp/gomod-{where} GOFLAGS=-mod=mod "
            "GOTOOLCHAIN=local GOSUMDB=sum.golang.org && go mod download -x && go build -o app . && ./app")


def bundler(where: str, mirror: str | None) -> str:
    config = f"bundle config set --local mirror.https://rubygems.org {mirror} && " if mirror else ""
    return (f"{_fresh('rubygems', where)} && {config}bundle config set --local path /tmp/bundle-{where} && "
            "bundle install && bundle exec ruby -e 'require \"airgap_fixture_hello\"; puts :ok'")


def composer(where: str, mirror: str | None) -> str:
    config = ""
    if mirror:
        config = (f"composer config repositories.mirror composer {mirror} && composer config repo.packagist false"
                  " && composer config secure-http false && ")
    return (f"{_fresh('composer', where)} && export COMPOSER_HOME=/tmp/ch-{where} COMPOSER_CACHE_DIR=/tmp/cc-{where} && "
            f"{config}composer install --no-interaction --no-progress && cat vendor/airgap-fixture/hello/src/Fixture.php")


NUGET_WALK = """import json, sys, urllib.request, zipfile, io
index = json.load(urllib.request.urlopen(sys.argv[1]))
base = next(r["@id"] for r in index["resources"] if r["@type"] == "PackageBaseAddress/3.0.0")
versions = json.load(urllib.request.urlopen(base + "airgapfixture.hello/index.json"))["versions"]
data = urllib.request.urlopen(f"{base}airgapfixture.hello/{versions[-1]}/airgapfixture.hello.{versions[-1]}.nupkg").read()
print(base, versions, zipfile.ZipFile(io.BytesIO(data)).read("AirgapFixture.Hello.nuspec").decode())
"""


def nuget(index_url: str) -> str:
    """No NuGet v3 client runs here (Debian's nuget is 2.8, v2 feeds only): walk the v3 feed as restore does."""
    return f"python3 -c {shlex.quote(NUGET_WALK)} {index_url}"


def skopeo_copy(reference: str, tls_verify: bool = True) -> str:
    target = reference.rsplit("/", 1)[1].replace(":", "-")
    return (f"rm -rf /tmp/oci-{target} && skopeo copy --src-tls-verify={str(tls_verify).lower()} "
            f"docker://{reference} oci:/tmp/oci-{target}:x && cat /tmp/oci-{target}/index.json")


def go_verified(where: str, proxy: str, gosumdb: str) -> str:
    """Without go.sum, so the go command must ask the checksum database (GOSUMDB) for every module."""
    return (f"{_fresh('go', where)} && cp go.sum /tmp/go.sum.{where}.expected && rm go.sum && "
            f"export GOPROXY={proxy} GOMODCACHE=/tmp/gomod-sum-{where} GOTOOLCHAIN=local GOFLAGS=-mod=mod "
            f"GOSUMDB={shlex.quote(gosumdb)} && go build -o app . && ./app && "
            f"diff go.sum /tmp/go.sum.{where}.expected && echo go.sum-verified")


def gem_install(where: str, source: str) -> str:
    """`gem install` (not Bundler): RubyGems' own resolver, which also reads quick/Marshal.4.8 gemspecs."""
    return (f"rm -rf /tmp/gems-{where} && gem install --clear-sources --source {source} --install-dir /tmp/gems-{where} "
            f"--no-document airgap-fixture-hello -v 1.0.0 && ls /tmp/gems-{where}/gems")
