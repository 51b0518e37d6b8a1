"""Griffe extension: the code's docstrings use Sphinx roles (``:class:`~pipeline.cache.DeviceCache```);
rendered as Markdown they would show the role name. Each role becomes inline code of its
target (``~`` keeps the last component, ``title <target>`` keeps the title), and an RST
literal-block marker (a line ending in ``::``) becomes one colon: the indented block after
it is already a Markdown code block."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:mod|class|func|meth|attr|data|obj|exc|const|term|ref):`([^`]+)`")


def _plain(m: re.Match) -> str:
    target = m.group(1).strip()
    titled = re.fullmatch(r"(.*?)\s*<(.+)>", target)
    if titled:
        return f"`{titled.group(1)}`"
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"`{target}`"


def plain_roles(text: str) -> str:
    """``text`` with every Sphinx role replaced by inline code, ``::`` markers by ``:`` (module doc)."""
    text = ROLE.sub(_plain, text)
    text = re.sub(r"^[ \t]*::[ \t]*$\n?", "", text, flags=re.M)
    return re.sub(r"(\S)::[ \t]*$", r"\1:", text, flags=re.M)


class SphinxRolesAsCode(griffe.Extension):
    """Rewrite each object's docstring when griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)
