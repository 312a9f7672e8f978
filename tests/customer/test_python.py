"""pip stand-ins for a customer's project (harness/customer/python.py): requirements files and pyproject.toml read as
pip reads them, a stand-in for every distribution they name, the build copy's --hash options equal to the hashes
of the wheels the simulated internet serves (generated here with content.with_standins), notes for what cannot
be stood in for, and malformed files as errors naming the file."""

import hashlib
import io
import re
import sys
import zipfile

import pytest
from hypothesis import given, strategies as st

from harness.customer import project
from harness.customer import python as pip_standins
from harness.infra import paths
from harness.infra.errors import UserError
from harness.stack import content
from harness.stack.content import python as generator

try:
    from packaging.specifiers import Specifier, SpecifierSet
    from packaging.utils import canonicalize_name, parse_wheel_filename
    from packaging.version import Version
except ImportError:  # the harness's own fallback: pip's vendored copy
    from pip._vendor.packaging.specifiers import Specifier, SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename
    from pip._vendor.packaging.version import Version

PROJECTS = paths.fixtures_dir() / "projects"
HEX = re.compile(r"(--hash=sha(?:256|384|512):)[0-9a-f]+")


def files_of(name: str) -> dict[str, bytes]:
    root = PROJECTS / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def dists(standins) -> dict[tuple[str, str], dict]:
    return {(d["name"], d["version"]): d for d in standins.definition.get("distributions", [])}


def hashes_by_requirement(text: str) -> dict[str, list[str]]:
    """'name==version' -> its --hash values, from a pip-compile style file."""
    out, current = {}, None
    for line in text.splitlines():
        head = re.match(r"^([A-Za-z0-9][A-Za-z0-9._\[\]-]*==[^ ;\\]+)", line)
        if head:
            current = re.sub(r"\[.*\]", "", head.group(1))
            out[current] = []
        out.setdefault(current, []).extend(re.findall(r"--hash=sha256:([0-9a-f]+)", line)) if current else None
    return out


# --- the fixture projects ------------------------------------------------------------------------------------------
def test_hashes_project_stands_in_for_every_pin_and_rewrites_its_hashes_to_the_served_wheels():
    files = files_of("python-requirements-hashes")
    made = pip_standins.standins(files)
    original = hashes_by_requirement(files["requirements.txt"].decode())
    pins = {tuple(p.split("==")) for p in original}
    assert set(dists(made)) == {(canonicalize_name(n), v) for n, v in pins}
    assert list(made.rewritten) == ["requirements.txt"] and made.notes == ()

    served = content.with_standins([made]).python
    rewritten = made.rewritten["requirements.txt"].decode()
    for requirement, digests in hashes_by_requirement(rewritten).items():
        name, version = requirement.split("==")
        filename = f"{generator.normalized(name)}-{version}-py3-none-any.whl"
        assert set(digests) == {hashlib.sha256(served[filename]).hexdigest()}, requirement
        assert not set(digests) & set(original[requirement])  # the customer's hashes were not the stand-ins'
    # everything but the hash digits is as the customer wrote it
    assert HEX.sub(r"\1", rewritten) == HEX.sub(r"\1", files["requirements.txt"].decode())


def test_pip_compile_annotations_give_the_graph_with_markers_and_extras():
    made = dists(pip_standins.standins(files_of("python-requirements-hashes")))
    assert made[("requests", "2.31.0")]["extras"] == ["socks"]
    assert made[("requests", "2.31.0")]["requires"] == ["certifi", "charset-normalizer", "idna", "pysocks", "urllib3"]
    assert made[("click", "8.1.7")]["requires"] == ['colorama; sys_platform == "win32"']
    assert 'importlib-metadata; python_full_version < "3.10"' in made[("flask", "3.0.2")]["requires"]
    assert made[("markupsafe", "2.1.5")].get("requires") is None
    assert ("jinja2", "3.1.3") in made and made[("jinja2", "3.1.3")]["requires"] == ["markupsafe"]


def test_extra_index_project_serves_local_versions_on_that_index_only_and_keeps_the_option():
    files = files_of("python-extra-index")
    assert b"\r\n" in files["requirements.txt"]
    made = pip_standins.standins(files)
    assert set(dists(made)) == {("fastapi", "0.109"), ("numpy", "1.26.4"), ("pandas", "2.2.1"), ("pydantic", "2.5"),
                                ("python-multipart", "1.0.0"), ("requests", "2.31"), ("uvicorn", "0.27.1")}
    [index] = made.elsewhere["python"]
    assert (index["host"], index["index"]) == ("download.pytorch.org", "/whl/cpu/")
    assert [(d["name"], d["version"]) for d in index["distributions"]] == [("torch", "2.2.1+cpu"),
                                                                           ("torchvision", "0.17.1+cpu")]
    assert made.rewritten == {}  # no hashes: the files, --extra-index-url included, are built as they are
    assert any("--extra-index-url on download.pytorch.org kept" in note for note in made.notes)
    built = content.with_standins([made])
    page = built.static["download.pytorch.org/whl/cpu/torch/index.html"].decode()
    wheel = built.static["download.pytorch.org/whl/cpu/torch-2.2.1+cpu-py3-none-any.whl"]
    assert f"#sha256={hashlib.sha256(wheel).hexdigest()}" in page
    assert not any(name.startswith("torch") for name in built.python)  # PyPI never has a local version
    assert "download.pytorch.org" in built.outside[0]


def test_constraints_choose_the_version_and_name_nothing_themselves():
    made = dists(pip_standins.standins(files_of("python-extra-index")))
    assert ("numpy", "1.26.4") in made and ("pandas", "2.2.1") in made  # constraints.txt pins
    assert not any(name == "urllib3" for name, _ in made)  # only constrained, never required


def test_pyproject_project_stands_in_for_its_build_backend_and_dependencies():
    made = pip_standins.standins(files_of("python-pyproject"))
    by_name = {name: d for (name, _), d in dists(made).items()}
    assert by_name["hatchling"]["kind"] == "backend" and by_name["hatchling"]["backend_module"] == "hatchling.build"
    assert {"hatch-vcs", "httpx", "pydantic-settings", "sqlalchemy", "tenacity", "tomli", "pytest",
            "ruff"} <= set(by_name)
    assert by_name["sqlalchemy"]["extras"] == ["asyncio"]
    assert Version(by_name["httpx"]["version"]) in SpecifierSet(">=0.27,<1")


def test_a_backend_module_not_named_after_its_distribution_is_stood_in_for():
    """mesonpy comes from meson-python (numpy's and scipy's layout; found by a sweep: no stand-in backend)."""
    made = pip_standins.standins({"pyproject.toml": b'[build-system]\nrequires = ["meson-python>=0.15", "numpy>=2.0", '
                                                    b'"Cython>=3"]\nbuild-backend = "mesonpy"\n[project]\nname = "x"\n'
                                                    b'version = "1.0"\n'})
    by_name = {name: d for (name, _), d in dists(made).items()}
    assert by_name["meson-python"]["kind"] == "backend" and by_name["meson-python"]["backend_module"] == "mesonpy"
    assert by_name["numpy"]["kind"] == "wheel" and not any("no stand-in backend" in note for note in made.notes)


def test_the_slice_builds_requirements_first_then_pyproject():
    assert project.load(PROJECTS / "python-requirements-hashes").builds == (
        ("python", "pip download --retries 0 --timeout 15 --no-cache-dir -d /tmp/pip-dl -r requirements.txt"),)
    assert project.load(PROJECTS / "python-pyproject").builds == (
        ("python", "pip download --retries 0 --timeout 15 --no-cache-dir -d /tmp/pip-dl ."),)


@pytest.mark.parametrize("files", [
    {"requirements.txt": b"-e .\n", "setup.py": b"from setuptools import setup\nsetup()\n"},
    {"pyproject.toml": b'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'}])
@pytest.mark.parametrize("requires", ["\n    requests>=2.0\n    # a comment\n    six", " requests>=2.0; six"])
def test_setuptools_declarative_setup_cfg_dependencies_are_stood_in_for(files, requires):
    """setup.cfg's [options] install_requires (a dangling list, or ';'-separated), as setuptools reads it, for
    `-e .` of a setup.py project and for a pyproject.toml without [project] (found by a sweep: never read)."""
    cfg = f"[metadata]\nname = app\nversion = 1.0\n[options]\ninstall_requires ={requires}\n".encode()
    made = pip_standins.standins({**files, "setup.cfg": cfg})
    assert {"requests", "six"} <= {name for name, _ in dists(made)}
    assert not any("its dependencies are not read" in note or "no pyproject.toml there" in note for note in made.notes)


# --- the stand-in build backend ----------------------------------------------------------------------------------
def test_the_standin_backend_reads_setup_cfg_without_a_project_table(tmp_path, monkeypatch):
    """With no [project], the stand-in setuptools backend reads setup.cfg as setuptools does (the reader of
    read_setup_cfg is the harness's own: one text, run in both)."""
    namespace = {}
    exec(generator.PROJECT_BACKEND, namespace)  # noqa: S102 - the backend's own text
    (tmp_path / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\n')
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = app\nversion = 1.0\n[options]\ninstall_requires =\n"
                                        "    requests>=2.0\n    six\n")
    monkeypatch.chdir(tmp_path)
    assert namespace["_metadata"]()[2].decode() == ("Metadata-Version: 2.1\nName: app\nVersion: 1.0\n"
                                                    "Requires-Dist: requests>=2.0\nRequires-Dist: six\n")


def test_the_standin_backend_reads_the_project_table(tmp_path, monkeypatch):
    """The backend pip imports in its isolated environment: metadata from [project], a wheel pip can read."""
    _, wheel = generator.wheel({"name": "setuptools", "version": "69.0.0", "kind": "backend", "module": "setuptools",
                                "backend_module": "setuptools.build_meta"})
    site = tmp_path / "site"
    zipfile.ZipFile(io.BytesIO(wheel)).extractall(site)
    work = tmp_path / "project"
    work.mkdir()
    (work / "pyproject.toml").write_text('[project]\nname = "Acme.App"\nversion = "1.2"\n'
                                         'dependencies = ["requests>=2"]\n'
                                         '[project.optional-dependencies]\ndev = ["pytest; python_version > \'3\'"]\n')
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(site))
    for module in [m for m in sys.modules if m == "setuptools" or m.startswith("setuptools.")]:
        monkeypatch.delitem(sys.modules, module)
    import setuptools.build_meta as backend

    assert backend.__legacy__ is backend  # setuptools.build_meta:__legacy__, pip's default backend
    info = backend.prepare_metadata_for_build_wheel(str(tmp_path))
    metadata = (tmp_path / info / "METADATA").read_text()
    assert "Name: Acme.App\nVersion: 1.2\nRequires-Dist: requests>=2\nProvides-Extra: dev\n" in metadata
    assert "Requires-Dist: pytest; (python_version > '3') and extra == \"dev\"" in metadata
    name = backend.build_wheel(str(tmp_path))
    assert name == "acme_app-1.2-py3-none-any.whl"
    assert "acme_app-1.2.dist-info/METADATA" in zipfile.ZipFile(tmp_path / name).namelist()


# --- the requirements-file format ----------------------------------------------------------------------------------
def test_crlf_continuations_comments_and_other_algorithms_are_rewritten_in_place():
    text = ("# top comment\r\n"
            "Django==4.2.11 \\\r\n"
            "    --hash=sha256:aaaa \\\r\n"
            "    --hash sha512:bbbb  # a comment --hash=sha256:cccc\r\n"
            "six==1.16.0 --hash=sha384:dddd\r\n")
    made = pip_standins.standins({"requirements.txt": text.encode()})
    out = made.rewritten["requirements.txt"].decode()
    django = generator.wheel(dists(made)[("django", "4.2.11")])[1]
    six = generator.wheel(dists(made)[("six", "1.16.0")])[1]
    assert out == text.replace("aaaa", hashlib.sha256(django).hexdigest()).replace(
        "bbbb", hashlib.sha512(django).hexdigest()).replace("dddd", hashlib.sha384(six).hexdigest())


def test_includes_are_relative_to_the_file_and_constraints_nest_requirements():
    files = {"requirements.txt": b"-r reqs/base.txt\n--constraint=reqs/pins.txt\n",
             "reqs/base.txt": b"-rdev.txt\nattrs>=22\n",
             "reqs/dev.txt": b"pytest\n",
             "reqs/pins.txt": b"attrs==23.2.0\n-r more.txt\n",  # -r in a constraints file names requirements
             "reqs/more.txt": b"iniconfig==2.0.0\n"}
    assert set(dists(pip_standins.standins(files))) == {("attrs", "23.2.0"), ("pytest", "1.0.0"),
                                                        ("iniconfig", "2.0.0")}


def test_a_file_read_as_constraints_first_is_read_again_as_requirements():
    """pip-tools' layering: dev.txt constrains itself by prod.txt, read first; pip still installs what prod.txt
    names when a later -r names it (pip's parse_requirements reads it twice)."""
    files = {"requirements.txt": b"-r requirements/dev.txt\n-r requirements/prod.txt\n",
             "requirements/dev.txt": b"-c prod.txt\npytest==8.0.0\n",
             "requirements/prod.txt": b"django==4.2.0\nrequests==2.31.0\n"}
    assert set(dists(pip_standins.standins(files))) == {("pytest", "8.0.0"), ("django", "4.2.0"), ("requests", "2.31.0")}


def test_too_many_specifiers_of_one_name_is_an_error_naming_the_file():
    """Each candidate version is checked against every specifier of its name: a bound keeps that small (a sweep
    measured 2,000 lines `foo>=1.0.N` at 8 s, growing with the square)."""
    files = {"requirements.txt": b"-r more.txt\n", "more.txt": "".join(f"foo>=1.0.{i}\n" for i in range(300)).encode()}
    with pytest.raises(UserError, match=r"^more\.txt line 1: foo: more than 256 different version specifiers"):
        pip_standins.standins(files)


def test_every_top_requirements_file_is_read_and_a_pin_beats_a_range():
    files = {"requirements.txt": b"Flask_Login>=0.6\n", "requirements-dev.txt": b"flask-login==0.6.3\n"}
    assert set(dists(pip_standins.standins(files))) == {("flask-login", "0.6.3")}


@pytest.mark.parametrize("files, expected", [
    ({"requirements.txt": b'numpy==1.21.6; python_version < "3.8"\nnumpy>=1.22; python_version >= "3.8"\n'},
     {("numpy", "1.21.6"), ("numpy", "1.22")}),
    ({"requirements.txt": b"django>=4.2\n", "requirements-py38.txt": b"django==3.2.25\n"},
     {("django", "3.2.25"), ("django", "4.2")})])
def test_a_range_no_pin_satisfies_gets_a_version_of_its_own(files, expected):
    """A pin whose marker leaves the builder's Python out, or a pin in a file the build does not read, must not
    take the place of the range pip looks in (found by a sweep: pip found no numpy>=1.22)."""
    assert set(dists(pip_standins.standins(files))) == expected


@pytest.mark.parametrize("options, sdists", [("--no-binary :all:", {"six", "psycopg2"}), ("--no-binary psycopg2", {"psycopg2"}),
                                             ("--no-binary=:all:\n--only-binary six", {"psycopg2"}),
                                             ("--no-binary :all:\n--no-binary :none:", set()), ("", set())])
def test_no_binary_names_get_an_sdist_stand_in_with_its_hash(options, sdists):
    """pip takes no wheel of a name --no-binary gives (pip's FormatControl, --only-binary moving a name back): its
    stand-in is an sdist, and a --hash is the sdist's (found by a sweep: only wheels, so pip found nothing)."""
    made = pip_standins.standins({"requirements.txt": f"{options}\npsycopg2==2.9.9\nsix==1.16.0 --hash=sha256:{'a' * 64}\n".encode()})
    kinds = {d["name"]: d["kind"] for d in made.definition["distributions"]}
    assert {name for name, kind in kinds.items() if kind == "sdist"} == sdists
    six = next(d for d in made.definition["distributions"] if d["name"] == "six")
    assert hashlib.sha256(generator.archive(six)[1]).hexdigest().encode() in made.rewritten["requirements.txt"]


def test_the_via_links_of_a_file_the_build_does_not_read_make_no_requirements():
    """pip-compile's `# via` of requirements-py38.txt (a lock for another Python) must not add importlib-metadata
    to flask's stand-in: under --require-hashes pip refuses a requirement requirements.txt does not pin (found by
    a sweep)."""
    made = pip_standins.standins({
        "requirements.txt": b"flask==3.0.2\n    # via -r requirements.in\nitsdangerous==2.1.2\n    # via flask\n",
        "requirements-py38.txt": b"flask==3.0.2\nimportlib-metadata==7.0.1\n    # via flask\nzipp==3.17.0\n"
                                 b"    # via importlib-metadata\n"})
    flask = next(d for d in made.definition["distributions"] if d["name"] == "flask")
    assert flask.get("requires") == ["itsdangerous"], flask


@pytest.mark.parametrize("other", [b"--no-index --find-links ./wheels\n", b"--index-url https://pypi.acme.example/simple\n"])
def test_the_options_of_a_requirements_file_the_build_does_not_read_change_nothing(other):
    """The build runs `pip download -r requirements.txt`: requirements-offline.txt's --no-index (or another
    index) is not what pip does there, so requests is stood in for on the public index all the same."""
    made = pip_standins.standins({"requirements.txt": b"requests==2.31.0\n", "requirements-offline.txt": other})
    assert ("requests", "2.31.0") in dists(made)
    assert any("requirements-offline.txt line 1: --" in note and "changes nothing pip does there" in note
               for note in made.notes), made.notes
    assert not any("asks it instead" in note or "nothing is stood in for" in note for note in made.notes)


@pytest.mark.parametrize("requirements, note", [
    (b"--no-index --find-links ./vendor/wheels\nsix==1.16.0\n",
     "requirements.txt line 1: --find-links ./vendor/wheels: in vendor/, which the build's copy leaves out"),
    (b"./vendor/thing-1.0.tar.gz\n", "requirements.txt line 1: ./vendor/thing-1.0.tar.gz: in vendor/, which the"),
    (b"./dist/thing-1.0.tar.gz\n", "requirements.txt line 1: ./dist/thing-1.0.tar.gz: not in the project as read"),
])
def test_a_local_path_the_build_s_copy_lacks_is_noted_so(requirements, note):
    """vendor/ is left out of the build's copy: pip there finds no wheel where the customer's build does."""
    notes = pip_standins.standins({"requirements.txt": requirements}).notes
    assert any(n.startswith(note) for n in notes), notes


def test_what_cannot_be_stood_in_for_is_a_note():
    files = {"requirements.txt": (
        b"git+https://user:token@github.com/acme/lib.git@v1#egg=lib\n"
        b"-e ./tools\n"
        b"./vendor/thing-1.0.tar.gz\n"
        b"-r ../shared/requirements.txt\n"
        b"-r missing.txt\n"
        b"lib2 @ https://code.example.com/lib2-1.0.tar.gz\n"
        b"--find-links ./wheels\n"), "tools/setup.py": b""}
    notes = pip_standins.standins(files).notes
    assert len(notes) == 7, notes
    assert "git requirement on github.com" in notes[0] and "token" not in " ".join(notes)
    assert all(n.startswith("requirements.txt line ") for n in notes)


def test_an_editable_project_directory_adds_its_build_backend_and_dependencies():
    files = {"requirements.txt": b"-e .[dev]\n",
             "pyproject.toml": b'[project]\nname = "app"\nversion = "1"\ndependencies = ["attrs"]\n'}
    made = dists(pip_standins.standins(files))
    assert made[("setuptools", "40.8.0")]["backend_module"] == "setuptools.build_meta:__legacy__"
    assert {("wheel", "1.0.0"), ("attrs", "1.0.0")} <= set(made)


def test_a_config_only_pyproject_beside_requirements_is_not_read():
    files = {"requirements.txt": b"attrs==23.2.0\n", "pyproject.toml": b"[tool.black]\nline-length = 100\n"}
    assert set(dists(pip_standins.standins(files))) == {("attrs", "23.2.0")}


def test_an_index_url_on_another_host_serves_every_standin_there():
    files = {"requirements.txt": b"-i https://user:secret@pypi.acme.example/simple\nattrs==23.2.0\n"}
    made = pip_standins.standins(files)
    [index] = made.elsewhere["python"]
    assert (index["host"], index["index"], len(index["distributions"])) == ("pypi.acme.example", "/simple/", 1)
    assert "secret" not in " ".join(made.notes)
    pypi = pip_standins.standins({"requirements.txt": b"--index-url https://pypi.org/simple\nattrs==23.2.0\n"})
    assert pypi.elsewhere == {}


def test_a_find_links_page_and_a_wheel_url_are_served_at_their_urls_with_their_hashes():
    files = {"requirements.txt": (
        b"-f https://data.pyg.org/whl/torch-2.1.0+cpu.html\n"
        b"torch-scatter==2.1.2+pt21cpu\n"
        b"en_core_web_sm @ https://github.com/explosion/spacy-models/releases/download/en_core_web_sm-3.7.1/"
        b"en_core_web_sm-3.7.1-py3-none-any.whl --hash=sha256:abcd\n")}
    made = pip_standins.standins(files)
    static = content.with_standins([made]).static
    page = static["data.pyg.org/whl/torch-2.1.0+cpu.html"].decode()
    wheel = static["data.pyg.org/whl/torch_scatter-2.1.2+pt21cpu-py3-none-any.whl"]
    assert f'href="torch_scatter-2.1.2%2Bpt21cpu-py3-none-any.whl#sha256={hashlib.sha256(wheel).hexdigest()}"' in page
    model = static["github.com/explosion/spacy-models/releases/download/en_core_web_sm-3.7.1/"
                   "en_core_web_sm-3.7.1-py3-none-any.whl"]
    assert hashlib.sha256(model).hexdigest() in made.rewritten["requirements.txt"].decode()
    assert made.definition == {}  # nothing of it is on PyPI


@pytest.mark.parametrize("files, message", [
    ({"requirements.txt": b"flask==3.0\nthis is not a requirement\n"}, r"requirements\.txt line 2: 'this is not"),
    ({"requirements.txt": b"-r base.txt\n", "base.txt": b"ok==1\nbad==\n"}, r"base\.txt line 2"),
    ({"requirements.txt": b"flask==3.0 --hash=md5:abc\n"}, r"requirements\.txt line 1: --hash=md5"),
    ({"requirements.txt": b"--extra-index-url 'https://x\n"}, r"requirements\.txt line 1: cannot be split"),
    ({"requirements.txt": b"-r\n"}, r"requirements\.txt line 1: -r needs a value"),
    ({"requirements.txt": b"caf\xe9==1\n"}, r"requirements\.txt: not UTF-8"),
    ({"pyproject.toml": b"[project\nname = 'x'\n"}, r"pyproject\.toml: not valid TOML"),
    ({"pyproject.toml": b"[project]\nname = 'x'\ndependencies = 'attrs'\n"}, r"pyproject\.toml: dependencies"),
    ({"pyproject.toml": b"project = 3\n"}, r"pyproject\.toml: \[project\]: expected a table"),
])
def test_malformed_files_are_errors_naming_them(files, message):
    with pytest.raises(UserError, match=message):
        pip_standins.standins(files)


def test_a_malformed_project_is_an_error_naming_the_project_and_file(tmp_path):
    (tmp_path / "requirements.txt").write_text("requests>=\n")
    with pytest.raises(UserError, match=r"--project .*: requirements\.txt line 1"):
        project.load(tmp_path)


# --- versions and names (grammars) ---------------------------------------------------------------------------------
RELEASES = st.lists(st.integers(0, 30), min_size=1, max_size=4)
VERSIONS = st.builds(
    lambda release, pre, post, dev, local, epoch: (f"{epoch}!" if epoch else "") + ".".join(map(str, release))
    + (f"{pre[0]}{pre[1]}" if pre else "") + (f".post{post}" if post is not None else "")
    + (f".dev{dev}" if dev is not None else "") + (f"+{local}" if local else ""),
    RELEASES, st.none() | st.tuples(st.sampled_from(["a", "b", "rc"]), st.integers(0, 5)),
    st.none() | st.integers(0, 3), st.none() | st.integers(0, 3),
    st.none() | st.from_regex(r"[a-z0-9]{1,6}(\.[a-z0-9]{1,4})?", fullmatch=True), st.sampled_from([0, 0, 0, 1]))
PUBLIC = VERSIONS.filter(lambda v: not Version(v).local)
OPERATORS = st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~="])


def _spec(operator: str, version: str) -> Specifier | None:
    try:
        return Specifier(operator + version)
    except Exception:  # ~= needs two release parts; some operators take no local version
        return None


@given(st.lists(st.tuples(OPERATORS, PUBLIC), min_size=1, max_size=4))
def test_a_chosen_version_satisfies_every_range(pairs):
    sets = [SpecifierSet(str(s)) for s in (_spec(o, v) for o, v in pairs) if s is not None]
    version = pip_standins.standin_version(sets)
    if version is not None:
        assert all(s.contains(version, prereleases=True) for s in sets)
    # the first final release among the candidates that satisfies them all, else the first pre-release
    satisfying = [c for c in pip_standins._candidates(sets) if all(s.contains(c, prereleases=True) for s in sets)]
    final = [c for c in satisfying if not Version(c).is_prerelease]
    first = (final or satisfying or [None])[0] if any(len(s) for s in sets) else pip_standins.FALLBACK_VERSION
    assert version == first


@given(OPERATORS, PUBLIC)
def test_a_single_range_always_has_a_standin_unless_nothing_is_below_it(operator, version):
    spec = _spec(operator, version)
    if spec is None or (operator == "<" and not any(Version(version).release) and not Version(version).epoch):
        return
    found = pip_standins.standin_version([SpecifierSet(str(spec))])
    assert found is not None and SpecifierSet(str(spec)).contains(found, prereleases=True)


NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?", fullmatch=True)


@given(NAMES, VERSIONS)
def test_a_pinned_name_and_version_come_back_from_the_wheel_file_name(name, version):
    made = pip_standins.standins({"requirements.txt": f"{name}=={version} --hash=sha256:00\n".encode()})
    [dist] = made.definition["distributions"]
    assert dist["name"] == canonicalize_name(name) and Version(dist["version"]) == Version(version)
    filename, data = generator.wheel(dist)
    parsed_name, parsed_version, _, _ = parse_wheel_filename(filename)
    assert (parsed_name, parsed_version) == (canonicalize_name(name), Version(version))
    assert hashlib.sha256(data).hexdigest() in made.rewritten["requirements.txt"].decode()


@pytest.mark.parametrize("links", ["./wheels", "file:///srv/wheels"])
def test_no_index_with_local_wheels_stands_in_for_nothing_and_keeps_the_hashes(links):
    """`--no-index --find-links ./wheels`: pip installs the project's own wheels and asks no index, so nothing is
    stood in for and the --hash lines (the customer's wheels') stay as they are."""
    text = f"--no-index\n--find-links {links}\nsix==1.16.0 \\\n    --hash=sha256:{'a' * 64}\n".encode()
    made = pip_standins.standins({"requirements.txt": text})
    assert made.rewritten == {} and made.definition == {} and made.elsewhere == {}
    assert any("--no-index with local --find-links only" in note for note in made.notes)
    remote = pip_standins.standins({"requirements.txt": text.replace(links.encode(), b"https://wheels.corp.example/")})
    assert remote.elsewhere  # a remote --find-links page is still stood in for, with its wheels


def test_an_index_taken_from_an_environment_variable_is_named_so():
    """pip expands ${VAR} in requirements files: the note said 'not an http(s) URL' (found by a project sweep)."""
    made = pip_standins.standins({"requirements.txt": b"--index-url ${PIP_INDEX_URL}\nsix==1.16.0\n"})
    assert any("from the environment variable PIP_INDEX_URL" in note for note in made.notes), made.notes


@pytest.mark.parametrize("files, tool", [
    ({"pyproject.toml": "[project]\nname = 'a'\nversion = '1'\ndependencies = ['requests>=2']\n"}, "uv"),
    ({"pyproject.toml": "[project]\nname = 'a'\nversion = '1'\n", "uv.lock": "version = 1\n"}, "uv"),
    ({"pyproject.toml": "[tool.poetry]\nname = 'a'\nversion = '1'\n"}, "Poetry"),
    ({"pyproject.toml": "[project]\nname = 'a'\nversion = '1'\n", "poetry.lock": ""}, "Poetry"),
    ({"pyproject.toml": "[project]\nname = 'a'\nversion = '1'\n", "requirements.txt": "requests==2.31.0\n"}, None),
])
def test_a_pyproject_project_says_what_the_platform_s_buildpack_installs_it_with(files, tool):
    """Google's Python buildpack builds a pyproject.toml project (without requirements.txt) with uv or Poetry,
    which do not read pip's configuration, or installs nothing from it below Python 3.13; this build runs pip.
    The note says so; with requirements.txt the buildpack installs that, and there is no note."""
    notes = [note for note in pip_standins.standins({k: v.encode() for k, v in files.items()}).notes
             if "Google's Python buildpack" in note]
    if tool is None:
        assert notes == []
    else:
        assert len(notes) == 1 and f"installs it with {tool} (" in notes[0] and "neither pip.conf nor PIP_INDEX_URL" in notes[0]
        assert ("UV_DEFAULT_INDEX" in notes[0]) == (tool == "uv")
