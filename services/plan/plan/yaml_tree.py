"""YAML nodes as Pebble's YAML library (go-yaml v3) keeps them: each with
its style, its tag (resolved, or as written), its anchor, its line and
column, and the comment lines written before it. `yaml_load` builds them
from text, `yaml_emit` writes them out again, `yaml_nodes` decodes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.plan.plan.yaml_scalars import resolve, short_tag

SCALAR, MAPPING, SEQUENCE, ALIAS = "scalar", "mapping", "sequence", "alias"

# Scalar styles; "" is plain. Collections use FLOW, or "" for block.
SINGLE, DOUBLE, LITERAL, FOLDED, FLOW = "'", '"', "|", ">", "flow"


@dataclass(eq=False)
class Node:
    kind: str
    tag: str = ""  # long form (tag:yaml.org,2002:str), or a local tag (!x)
    value: str = ""  # a scalar's text; an alias's anchor name
    style: str = ""
    items: list = field(default_factory=list)  # mapping: [(key, value)], sequence: [node]
    anchor: str = ""
    tagged: bool = False  # the tag was written in the text (not resolved)
    line: int = 0  # 1-based, 0 when the node was not read from text
    column: int = 0
    head: list[str] = field(default_factory=list)  # comment lines ("" for a blank between them)
    dash_comment: str = ""  # a comment after the `- ` of this block collection's sequence item
    flow_comment: str = ""  # a comment after this item of a flow collection, which ends the line there
    target: Node | None = None  # what an alias refers to

    @property
    def is_null(self) -> bool:
        return self.kind == SCALAR and self.short_tag == "!!null"

    @property
    def indicated_string(self) -> bool:
        """go-yaml's indicatedString: a scalar tagged (or resolved) !!str, or
        an untagged one that is quoted or a block."""
        return self.kind == SCALAR and (
            short_tag(self.tag) == "!!str" or self.tag in ("", "!") and self.style != ""
        )

    @property
    def short_tag(self) -> str:
        """go-yaml's ShortTag: the tag a decoder sees (`!!str`, `!!int`, `!!map`…)."""
        if self.indicated_string:
            return "!!str"
        if self.tag in ("", "!"):
            if self.kind == MAPPING:
                return "!!map"
            if self.kind == SEQUENCE:
                return "!!seq"
            if self.kind == ALIAS:
                return self.target.short_tag if self.target is not None else ""
            return short_tag(resolve(self.value)[0])
        return short_tag(self.tag)


def scalar(value: str, style: str = "", tag: str = "") -> Node:
    """A scalar to write out (`tag` "" means implicit: written without one)."""
    return Node(SCALAR, tag=tag, value=value, style=style)


def mapping(pairs: list[tuple[Node, Node]], style: str = "") -> Node:
    return Node(MAPPING, items=list(pairs), style=style)


def sequence(items: list[Node], style: str = "") -> Node:
    return Node(SEQUENCE, items=list(items), style=style)
