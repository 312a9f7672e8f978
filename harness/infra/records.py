"""`@record`: a class of annotated fields as an immutable named tuple, for the modules `airgap plan` and `airgap lint`
load on every start (harness.contract, harness.infra.settings); the rest of the harness uses dataclasses.

It is typing.NamedTuple's class syntax without importing typing, which with contextlib took about 10 ms of each
start on this machine, and dataclasses (with inspect) more than plan's own work (issue 12, item 5). A record is
a tuple: it equals any tuple of the same values, so compare records of one kind only.
"""

import collections


def record(cls):
    """`cls` as a collections.namedtuple: its annotated fields in order, a value given in the class body as that
    field's default, its docstring, methods and properties kept. A field without a default after one with a
    default is a TypeError, as it is for dataclasses (namedtuple would shift the defaults silently). The methods
    are set on the named tuple itself, so they cannot call super()."""
    fields = list(cls.__dict__.get("__annotations__", {}))
    defaulted = [name for name in fields if name in cls.__dict__]
    if fields[len(fields) - len(defaulted):] != defaulted:
        raise TypeError(f"{cls.__qualname__}: a field without a default follows one with a default")
    made = collections.namedtuple(cls.__name__, fields, defaults=[cls.__dict__[name] for name in defaulted],
                                  module=cls.__module__)
    for name, value in cls.__dict__.items():  # onto the named tuple itself: a subclass would cost a third more
        if name not in fields and name not in ("__dict__", "__weakref__"):
            setattr(made, name, value)
    return made
