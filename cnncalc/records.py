"""Immutable records that cost next to nothing to define.

`typing.NamedTuple` and frozen dataclasses compile generated source code for every class when
their module is imported: about a millisecond each, where a whole `cnncalc params` run may add
only about fifteen to the imports it needs (benchmarks/run.py). `@record` builds the same kind of class as
`typing.NamedTuple` (a tuple subclass with named, read-only fields, defaults, `_replace`,
`_asdict`, keyword construction, the class's own methods and properties) from functions
shared by every record, so defining one compiles nothing.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, TypeVar

T = TypeVar("T")
_MISSING: Any = object()
_new_tuple = tuple.__new__


def record(cls: type[T]) -> type[T]:
    """Class decorator: the annotated fields, in order (defaults as class attributes), become a
    NamedTuple-like tuple subclass; everything else in the class body is kept."""
    names = tuple(cls.__dict__.get("__annotations__", {}))
    defaults = tuple(cls.__dict__[name] for name in names if name in cls.__dict__)
    first_default = len(names) - len(defaults)
    if any(name.startswith("_") for name in names) or any(name not in cls.__dict__ for name in names[first_default:]):
        raise TypeError(f"{cls.__name__}: fields must not start with '_', and defaults must come last")
    namespace = {k: v for k, v in cls.__dict__.items() if k not in names and k not in ("__dict__", "__weakref__")}
    namespace.update(
        __slots__=(),
        _fields=names,
        _field_defaults=dict(zip(names[first_default:], defaults)),
        __match_args__=names,
        __new__=_constructor(names, defaults),
        __getnewargs__=_getnewargs,
        _replace=_replace,
        _asdict=_asdict,
    )
    namespace.setdefault("__repr__", _repr)
    for index, name in enumerate(names):
        namespace[name] = property(itemgetter(index), doc=f"Field {index}.")
    return type(cls.__name__, (tuple,), namespace)  # type: ignore[return-value]


def _constructor(names: tuple[str, ...], defaults: tuple[Any, ...]) -> Any:
    count = len(names)
    first_default = count - len(defaults)

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != count:
            if not kwargs and first_default <= len(args) < count:
                args += defaults[len(args) - first_default :]  # leading fields given, the rest defaulted
            else:
                args = _bind(cls, names, defaults, args, kwargs)
        return _new_tuple(cls, args)

    return __new__


def _bind(cls: type, names: tuple[str, ...], defaults: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    count = len(names)
    if len(args) > count:
        raise TypeError(f"{cls.__name__}() takes {count} arguments but {len(args)} were given")
    values = list(args) + [_MISSING] * (count - len(args))
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
        index = names.index(key)
        if values[index] is not _MISSING:
            raise TypeError(f"{cls.__name__}() got multiple values for argument {key!r}")
        values[index] = value
    first_default = count - len(defaults)
    for index, value in enumerate(values):
        if value is _MISSING:
            if index < first_default:
                raise TypeError(f"{cls.__name__}() missing required argument {names[index]!r}")
            values[index] = defaults[index - first_default]
    return tuple(values)


def _repr(self: Any) -> str:
    return f"{type(self).__name__}(" + ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self)) + ")"


def _replace(self: Any, **changes: Any) -> Any:
    """A copy with some fields changed."""
    values = list(self)
    for key, value in changes.items():
        if key not in self._fields:
            raise TypeError(f"{type(self).__name__} has no field {key!r}")
        values[self._fields.index(key)] = value
    return _new_tuple(type(self), values)


def _asdict(self: Any) -> dict[str, Any]:
    """The fields as a dict."""
    return dict(zip(self._fields, self))


def _getnewargs(self: Any) -> tuple[Any, ...]:
    return tuple(self)
