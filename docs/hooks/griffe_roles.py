"""Griffe extension: the code's docstrings use Sphinx roles (``:class:`~pipeline.cache.DeviceCache```);
rendered as Markdown they would show the role name. Each role becomes inline code of its
target (``~`` keeps the last component, ``title <target>`` keeps the title)."""

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
    """``text`` with every Sphinx role replaced by inline code (module doc)."""
    return ROLE.sub(_plain, text)


class SphinxRolesAsCode(griffe.Extension):
    """Rewrite each object's docstring when griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)
