"""A griffe extension for the reference pages: the adapters' shared classes as
Python sees them, where griffe reads the source without running it.

- ``__doc__ = Other.__doc__`` in a class body (a text written once for the
  asyncio, trio and blocking twins of a class) gives the class that docstring,
  and no ``__doc__`` attribute.
- A method made by ``twin`` (``adapters/_api/_twin.py``: written once, a plain
  method on a blocking client and a coroutine function on an awaiting one) is
  shown as async on the awaiting clients: each class that derives directly from
  ``Awaiting`` gets its own copy of every such method, labelled async.

Loaded by mkdocs.yml (``extensions:``), before the reST converter, which then
converts the copied docstrings as it does every other.
"""

from __future__ import annotations

from typing import Any

import griffe

_TWINS = "centrifugo_proto.adapters._api._twin"
_SHARED_DOC = "__doc__"


def _classes(obj: griffe.Object) -> list[griffe.Class]:
    """Every class of the package, each once (aliases are the names it is imported by)."""
    found: dict[str, griffe.Class] = {}
    stack = [obj]
    while stack:
        current = stack.pop()
        if current.is_class and current.path not in found:
            assert isinstance(current, griffe.Class)
            found[current.path] = current
        stack.extend(m for m in current.members.values() if isinstance(m, griffe.Object))
    return list(found.values())


def _target(obj: griffe.Object | griffe.Alias) -> griffe.Object:
    """What ``obj`` is, through any imports."""
    return obj.final_target if isinstance(obj, griffe.Alias) else obj


def _shared_docstring(cls: griffe.Class) -> griffe.Docstring | None:
    """``cls``'s docstring, following ``__doc__ = Other.__doc__`` (also chains of them)."""
    shared = cls.members.get(_SHARED_DOC)
    if not isinstance(shared, griffe.Attribute) or not isinstance(
        shared.value, griffe.ExprAttribute
    ):
        return cls.docstring
    owner, attribute = (str(part) for part in shared.value.values)
    source = _target(cls.modules_collection.get_member(cls.resolve(owner)))
    if attribute != _SHARED_DOC or not isinstance(source, griffe.Class):
        return cls.docstring
    return _shared_docstring(source)


def _async_copy(cls: griffe.Class, method: griffe.Function) -> griffe.Function:
    doc = method.docstring
    copy = griffe.Function(
        method.name,
        lineno=method.lineno,
        endlineno=method.endlineno,
        parameters=method.parameters,
        returns=method.returns,
        decorators=method.decorators,
        docstring=None if doc is None else griffe.Docstring(doc.value, parent=cls),
        parent=cls,
    )
    copy.labels |= method.labels | {"async"}
    return copy


def _twin(member: griffe.Object | griffe.Alias) -> griffe.Function | None:
    """The method ``member`` names, if ``twin`` made it."""
    target = _target(member)
    if not isinstance(target, griffe.Function):
        return None
    return target if any(d.callable_path == f"{_TWINS}.twin" for d in target.decorators) else None


class AdapterTwins(griffe.Extension):
    """Shared docstrings and async twins, once the package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        classes = _classes(pkg)
        docstrings = {cls.path: _shared_docstring(cls) for cls in classes}
        for cls in classes:
            doc = docstrings[cls.path]
            if _SHARED_DOC in cls.members:
                cls.del_member(_SHARED_DOC)
                cls.docstring = None if doc is None else griffe.Docstring(doc.value, parent=cls)
            if f"{_TWINS}.Awaiting" not in {base.path for base in cls.resolved_bases}:
                continue
            for name, member in cls.inherited_members.items():
                if (method := _twin(member)) is not None:
                    cls.set_member(name, _async_copy(cls, method))
