"""One cattrs converter for every protocol message, and the `"type"`-tagged unions built on it.

Wire rules (spec agent-core 1.1): messages are JSON objects internally tagged by `"type"` in snake_case;
optional fields that are None are left out; unknown `"type"` values are an error that names the union and
the accepted tags. Conversion to JSON happens only at the edges, through `converter`.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import cattrs
from cattrs.v import format_exception
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn

T = TypeVar("T")

converter = cattrs.Converter()


class ProtocolError(ValueError):
    """Raised when JSON does not match the protocol: unknown `type`, missing or mistyped field."""


class TaggedUnion:
    """A family of attrs classes, subclasses of `base`, told apart by their class attribute `TYPE`.

    Decorate each member with `@union.register`. `structure(dict)` picks the class by the `"type"` tag;
    `unstructure(obj)` returns a dict whose first key is `"type"`. Fields annotated with `base` (or a list
    of it) anywhere in the protocol go through this union too. Errors are `ProtocolError`s naming the union.
    """

    def __init__(self, name: str, base: type) -> None:
        self.name = name
        self.base = base
        self.classes: dict[str, type] = {}
        self._structure: dict[type, Callable[[dict, type], Any]] = {}
        self._unstructure: dict[type, Callable[[Any], dict]] = {}
        converter.register_structure_hook(base, lambda data, _type: self.structure(data))
        converter.register_unstructure_hook(base, self.unstructure)

    def register(self, cls: type[T]) -> type[T]:
        tag = cls.TYPE  # type: ignore[attr-defined]
        if tag in self.classes:
            raise ValueError(f"{self.name}: duplicate type tag {tag!r}")
        self.classes[tag] = cls
        # The cattrs functions are generated on first use of each class (`_structure_fn` / `_unstructure_fn`):
        # generating them for every event, op and item at import cost ~60 ms of every process's start-up.
        return cls

    def _structure_fn(self, cls: type) -> Callable[[dict, type], Any]:
        fn = self._structure.get(cls)
        if fn is None:
            fn = self._structure[cls] = make_dict_structure_fn(cls, converter)
        return fn

    def _unstructure_fn(self, cls: type) -> Callable[[Any], dict] | None:
        fn = self._unstructure.get(cls)
        if fn is None:
            if self.classes.get(getattr(cls, "TYPE", None)) is not cls:
                return None
            fn = self._unstructure[cls] = make_dict_unstructure_fn(cls, converter)
        return fn

    def structure(self, data: Any) -> Any:
        """Build the member class named by `data["type"]`; raises ProtocolError."""
        if not isinstance(data, dict):
            raise ProtocolError(f"{self.name}: expected a JSON object, got {type(data).__name__}")
        tag = data.get("type")
        cls = self.classes.get(tag) if isinstance(tag, str) else None
        if cls is None:
            known = ", ".join(sorted(self.classes))
            raise ProtocolError(f"unknown {self.name} type {tag!r}; expected one of: {known}")
        fields = {k: v for k, v in data.items() if k != "type"}
        try:
            return self._structure_fn(cls)(fields, cls)
        except ProtocolError:
            raise
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
            raise ProtocolError(f"bad {self.name} {tag!r}: {_explain(exc)}") from exc

    def unstructure(self, obj: Any) -> dict[str, Any]:
        """The JSON-ready dict of a member instance, `"type"` first; raises ProtocolError for strangers."""
        cls = type(obj)
        fn = self._unstructure_fn(cls)
        if fn is None:
            raise ProtocolError(f"{cls.__name__} is not a registered {self.name}")
        # Optional fields left unset (None) are omitted, as serde's skip_serializing_if does upstream.
        return {"type": cls.TYPE, **{k: v for k, v in fn(obj).items() if v is not None}}


def structure_envelope(data: Any, kind: str, field: str, union: TaggedUnion) -> tuple[str, Any]:
    """Split `{"id": str, field: {...}}` into (id, structured payload); raises ProtocolError."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{kind}: expected a JSON object, got {type(data).__name__}")
    ident = data.get("id")
    if not isinstance(ident, str):
        raise ProtocolError(f"{kind}: 'id' must be a string, got {ident!r}")
    if field not in data:
        raise ProtocolError(f"{kind}: missing field {field!r}")
    return ident, union.structure(data[field])


def _format_leaf(exc: BaseException, type_: Any) -> str:
    # Our own hooks already word their errors for people; keep cattrs' wording for the rest.
    if isinstance(exc, ProtocolError):
        return str(exc)
    return format_exception(exc, type_)


def _explain(exc: BaseException) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, format_exception=_format_leaf))
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)
