"""YAML parsed once per content (harness/infra/yamltext.py): the same documents as yaml.safe_load, always."""

import datetime

import pytest
import yaml
from hypothesis import given, strategies as st

from harness.infra import yamltext
from harness.infra.yamltext import YAMLSyntaxError, load_yaml


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=False)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4), max_leaves=12)


@given(documents)
def test_a_cached_document_equals_a_fresh_parse(document):
    text = yaml.safe_dump(document)
    first, second = load_yaml(text), load_yaml(text)  # parsed, then from the cache
    assert first == second == yaml.safe_load(text)
    assert type(second) is type(yaml.safe_load(text))


def test_the_cache_is_used_and_a_damaged_entry_is_parsed_again(cache_home):
    assert load_yaml("a: [1, 2]\n") == {"a": [1, 2]}
    [entry] = (cache_home / "airgap-harness" / "parsed-yaml").iterdir()
    entry.write_bytes(b"\x00garbage")
    assert load_yaml("a: [1, 2]\n") == {"a": [1, 2]}


def test_types_marshal_does_not_hold_are_parsed_each_time(cache_home):
    assert load_yaml("when: 2024-01-02\n") == {"when": datetime.date(2024, 1, 2)}
    assert not (cache_home / "airgap-harness" / "parsed-yaml").exists()


def test_an_unwritable_cache_only_slows_down(cache_home):
    cache_home.write_text("a file where the cache directory would be")
    assert load_yaml("k: v\n") == {"k": "v"}


def test_text_that_is_not_yaml_is_one_error_with_the_place():
    with pytest.raises(YAMLSyntaxError, match="line 1, column"):
        load_yaml("a: [1\n")
    assert issubclass(YAMLSyntaxError, ValueError) and yamltext.CACHE_VERSION >= 1


def test_a_key_given_twice_is_an_error_naming_it_and_its_line():
    """PyYAML keeps the last of two equal keys silently: a scenario's second `expect:` replaced its first."""
    with pytest.raises(YAMLSyntaxError, match=r"the key 'expect' is given twice in one mapping \(line 3\)"):
        load_yaml("expect: {build: fails}\nname: x\nexpect: {build: succeeds}\n")
    assert load_yaml("base: &b {a: 1}\nuse:\n  <<: *b\n  a: 2\n") == {"base": {"a": 1}, "use": {"a": 2}}  # merge keys


def test_aliases_that_expand_to_a_billion_values_are_refused_at_once():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    with pytest.raises(YAMLSyntaxError, match="aliases expand to more than"):  # every reader would walk them all
        load_yaml("\n".join(lines) + "\n")


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: [1, *a]}\n"])
def test_a_document_holding_itself_is_refused(text):
    with pytest.raises(YAMLSyntaxError, match="an alias refers to a node it is part of"):
        load_yaml(text)
    assert load_yaml("x: &x [1]\ny: [*x, {z: *x}]\n") == {"x": [1], "y": [[1], {"z": [1]}]}  # shared, not recursive
