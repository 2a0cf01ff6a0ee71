"""A griffe extension for the reference pages: the docstrings' reST, as Markdown.

The docstrings are written for Python readers in the reST dialect Sphinx knows
(``:class:`Name```, ``text::`` literal blocks, simple ``====`` tables); the site is
MkDocs, whose docstrings are Markdown. This rewrites, once the package is loaded:

- a role (``:class:`~.events.Connected```, ``:meth:`Codec.frame```, ``:mod:`..commands```)
  to an optional cross-reference: a link when the target is on a reference page,
  plain code otherwise (never a warning);
- ``text::`` and its indented block to ``text:`` and a fenced Python block;
- a simple table to a Markdown table.

``:param x:`` fields and ````literal```` need nothing: griffe's Sphinx parser and
Markdown read them as they are. Loaded by mkdocs.yml (``extensions:``).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:class|meth|mod|attr|data|func|exc|obj|const|type|ref):`(?P<body>[^`]+)`"
)
_TITLED = re.compile(r"(?P<title>.*?)\s*<(?P<target>[^>]+)>\Z")
_BORDER = re.compile(r"^\s*=+(?:\s+=+)+\s*$")


def _package_of(obj: griffe.Object) -> griffe.Object:
    module = obj.module
    if module.is_init_module or module.parent is None:
        return module
    return module.parent


def _resolve(obj: griffe.Object, target: str) -> str:
    """The full path ``target`` names from ``obj``'s scope, or ``target`` itself."""
    if target.startswith("."):
        dots = len(target) - len(target.lstrip("."))
        base: griffe.Object | None = _package_of(obj)
        for _ in range(dots - 1):
            base = base.parent if base is not None else None
        rest = target[dots:]
        if base is None:
            return rest
        return f"{base.path}.{rest}" if rest else base.path
    first, _, rest = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            found = scope.resolve(first)
        except griffe.NameResolutionError:
            scope = scope.parent
            continue
        return f"{found}.{rest}" if rest else found
    return target


def _role(obj: griffe.Object, match: re.Match[str]) -> str:
    body = match.group("body").strip()
    titled = _TITLED.match(body)
    if titled:
        title, target = titled.group("title"), titled.group("target")
    else:
        target = body.lstrip("~")
        title = target.rsplit(".", 1)[-1] if body.startswith("~") else target.lstrip(".")
    identifier = _resolve(obj, target.lstrip("~"))
    return f'<autoref identifier="{identifier}" optional>`{title}`</autoref>'


def _literal_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.rstrip().endswith("::") or line.strip().startswith(".."):
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        block_start = j
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            j += 1
        if block_start == j:  # no indented block follows: not a literal block
            out.append(line)
            i += 1
            continue
        while not lines[j - 1].strip():
            j -= 1
        head = line.rstrip()[:-2].rstrip()
        if head.strip():
            out.append(head + ":")
        out.append("")
        pad = " " * indent
        out.append(pad + "```python")
        body = textwrap.dedent("\n".join(lines[block_start:j])).splitlines()
        out.extend(pad + b if b else "" for b in body)
        out.append(pad + "```")
        i = j
    return out


def _columns(border: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", border)]


def _cells(line: str, columns: list[tuple[int, int]]) -> list[str]:
    cells = []
    for n, (start, _end) in enumerate(columns):
        stop = columns[n + 1][0] if n + 1 < len(columns) else len(line)
        cells.append(line[start:stop].strip().replace("|", "\\|"))
    return cells


def _tables(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        columns = _columns(lines[i])
        indent = " " * columns[0][0]
        sections: list[list[list[str]]] = [[]]
        j = i + 1
        while j < len(lines) and len(sections) < 3:
            if _BORDER.match(lines[j]):
                sections.append([])
            elif lines[j].strip():
                cells = _cells(lines[j], columns)
                rows = sections[-1]
                if rows and not cells[0]:  # a continuation line: joins the row above
                    rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
                else:
                    rows.append(cells)
            j += 1
        header, body = (sections[0], sections[1]) if len(sections) == 3 else ([], sections[0])
        head = header[0] if header else [""] * len(columns)
        out.append("")
        out.append(indent + "| " + " | ".join(head) + " |")
        out.append(indent + "|" + "---|" * len(columns))
        out.extend(indent + "| " + " | ".join(row) + " |" for row in body)
        out.append("")
        i = j
    return out


def to_markdown(obj: griffe.Object, text: str) -> str:
    """``text``, a docstring of ``obj``, with its reST turned into Markdown."""
    lines = _tables(_literal_blocks(text.splitlines()))
    return _ROLE.sub(lambda m: _role(obj, m), "\n".join(lines))


class RstToMarkdown(griffe.Extension):
    """Rewrites every docstring of the loaded package (``to_markdown``)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[int] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = to_markdown(obj, obj.docstring.value)
            stack.extend(m for m in obj.members.values() if isinstance(m, griffe.Object))
