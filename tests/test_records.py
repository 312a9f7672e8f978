"""`@record` (harness/infra/records.py): what the contract's records rely on, as dataclasses gave it before."""

import pickle

import pytest

from harness.contract.catalog import Key
from harness.infra.records import record


@record
class Point:
    """A point."""

    x: int
    y: int = 0  # a default
    label: str | None = None

    @property
    def norm(self) -> int:
        return abs(self.x) + abs(self.y)

    def moved(self, dx: int) -> "Point":
        return Point(self.x + dx, self.y, self.label)


def test_fields_in_order_with_their_defaults():
    assert Point._fields == ("x", "y", "label")
    assert Point(1) == Point(x=1, y=0, label=None) and Point(1, 2, "a").label == "a"
    assert Point.__doc__ == "A point." and Point.__name__ == "Point" and Point.__module__ == __name__


def test_methods_and_properties_are_kept():
    assert Point(-1, 2).norm == 3 and Point(1).moved(2) == Point(3)


def test_a_record_is_immutable_and_hashable():
    point = Point(1, 2)
    with pytest.raises(AttributeError):
        point.x = 5
    with pytest.raises(AttributeError):
        point.z = 5  # no instance dictionary
    assert {point: "a"}[Point(1, 2)] == "a" and point._replace(y=3) == Point(1, 3)


def test_a_missing_field_is_an_error():
    with pytest.raises(TypeError):
        Point()
    with pytest.raises(TypeError):
        Point(1, nope=2)


def test_a_field_without_default_after_one_with_a_default_is_refused():
    with pytest.raises(TypeError, match="Bad: a field without a default follows one with a default"):
        @record
        class Bad:
            a: int = 0
            b: int


def test_records_pickle_as_themselves():
    key = Key("pkg-npm-url", "package-proxy", manager="npm", token="pkg-npm-token")
    assert pickle.loads(pickle.dumps(key)) == key and type(pickle.loads(pickle.dumps(key))) is Key
    assert key.credential_keys == ("pkg-npm-token",)
