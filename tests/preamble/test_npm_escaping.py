"""npm expands ${VAR} in .npmrc values: the preamble's escaping must give back every value unchanged."""

import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.preamble.readers.npm import _npm_env_replace
from helpers import PROXY_CONFIG_LIB as LIB


def escaped(value: str) -> str:
    script = 'source "$1"; pc__npm_no_env result "$2"; printf %s "$result"'
    return subprocess.run(["bash", "-c", script, "_", str(LIB), value], capture_output=True, text=True, check=True).stdout


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="\\${}aX( )", max_size=16))
def test_npm_reads_back_what_the_preamble_escaped(value):
    assert _npm_env_replace(escaped(value)) == value


def test_a_dollar_before_an_expansion_does_not_stop_the_escaping():
    value = "$(touch /tmp/pwned)\\${X}"  # found by the differential test
    assert _npm_env_replace(escaped(value)) == value
