"""Reading YAML text into `yaml_tree.Node`s as Pebble's YAML library (go-yaml
v3) reads it, with its error messages and line numbers.

PyYAML's pure-Python scanner and parser do the work; the scanner is taught
go-yaml's rules where the two differ: tabs between tokens and inside plain
scalars (go-yaml allows them wherever a simple key cannot start), comments
(kept, as go-yaml keeps them, because they are written out again when a
section is re-read), and go-yaml's nesting limit (10000 levels). Only the
first document is read, as `yaml.Unmarshal` reads it. Errors are raised as
`YAMLSyntaxError` with go-yaml's text: `yaml: line 3: did not find expected
',' or ']'` (go-yaml counts a parser error's line from 0 and a scanner
error's from 1, and says no line for the first; that is kept too).
"""

from __future__ import annotations

import re
from typing import ClassVar

import yaml
import yaml.events as ev
from yaml.parser import Parser, ParserError
from yaml.reader import Reader, ReaderError
from yaml.scanner import Scanner, ScannerError
from yaml.tokens import ScalarToken

from services.plan.plan.yaml_scalars import MERGE, STR, resolve
from services.plan.plan.yaml_tree import ALIAS, FLOW, MAPPING, SCALAR, SEQUENCE, Node

MAX_DEPTH = 10000
_BLANKZ = "\0 \t\r\n\x85\u2028\u2029"
_BREAKS = "\r\n\x85\u2028\u2029"


class YAMLSyntaxError(Exception):
    """Text go-yaml cannot read; `message` is go-yaml's (`yaml: …`)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _DepthError(ScannerError):
    pass


class _Scanner(Scanner):
    """PyYAML's scanner with go-yaml's rules for tabs, comments and depth."""

    # go-yaml's escapes in double quotes: YAML 1.1's, so \' but not \/.
    ESCAPE_REPLACEMENTS: ClassVar[dict[str, str]] = {**{k: v for k, v in Scanner.ESCAPE_REPLACEMENTS.items() if k != "/"}, "'": "'"}

    def __init__(self):
        super().__init__()
        self.comments: list[tuple[int, int, str]] = []  # 0-based line and column, text

    # Simple keys, as go-yaml checks them: PyYAML drops every stale possible
    # simple key (and fails on a required one) before each token; go-yaml only
    # looks at the key of the token the parser is about to read, and at the
    # key a ':' would close. It also keeps two tokens of lookahead (for its
    # comments), so a scanner error there comes before a parser error.
    def stale_possible_simple_keys(self):
        pass

    def _stale(self, key) -> bool:
        return key.line < self.line or key.index + 1024 < self.index

    def _check_key(self, level) -> bool:
        """Whether the key saved at `level` still stands; a stale required key is an error."""
        key = self.possible_simple_keys[level]
        if not self._stale(key):
            return True
        if key.required:
            raise ScannerError("while scanning a simple key", key.mark, "could not find expected ':'", self.get_mark())
        del self.possible_simple_keys[level]
        return False

    def need_more_tokens(self):
        if len(self.tokens) < 3 and not self.done:
            return True
        head = next((level for level, key in self.possible_simple_keys.items()
                     if key.token_number == self.tokens_taken), None)
        if head is None or not self._check_key(head):
            return False
        return not self.done

    def fetch_value(self):
        if self.flow_level in self.possible_simple_keys:
            self._check_key(self.flow_level)
        super().fetch_value()

    def next_possible_simple_key(self):
        for key in self.possible_simple_keys.values():
            return key.token_number
        return None

    def scan_to_next_token(self):
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        while True:
            while self.peek() == " " or (self.peek() == "\t" and (self.flow_level or not self.allow_simple_key)):
                self.forward()
            if self.peek() == "#":
                line, column, start = self.line, self.column, self.pointer
                while self.peek() not in "\0" + _BREAKS:
                    self.forward()
                self.comments.append((line, column, self.buffer[start:self.pointer]))
            if self.scan_line_break():
                if not self.flow_level:
                    self.allow_simple_key = True
            else:
                return

    def fetch_flow_collection_start(self, TokenClass):
        if self.flow_level >= MAX_DEPTH:
            raise _DepthError("while increasing flow level", self.get_mark(),
                              f"exceeded max depth of {MAX_DEPTH}", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def fetch_flow_collection_end(self, TokenClass):
        super().fetch_flow_collection_end(TokenClass)
        self.flow_level = max(self.flow_level, 0)  # a stray ] or } does not leave block context

    def add_indent(self, column):
        added = super().add_indent(column)
        if added and len(self.indents) > MAX_DEPTH:
            raise _DepthError("while increasing indent level", self.get_mark(),
                              f"exceeded max depth of {MAX_DEPTH}", self.get_mark())
        return added

    def fetch_stream_end(self):
        if self.column != 0:  # go-yaml puts the end of a text without a final newline on the next line
            self.line += 1
            self.column = 0
        self.remove_possible_simple_key()
        keys = dict(self.possible_simple_keys)
        super().fetch_stream_end()
        self.possible_simple_keys = keys  # go-yaml keeps them, to check the next token's

    def scan_block_scalar(self, style):
        self._block_start = self.get_mark()
        return super().scan_block_scalar(style)

    def scan_flow_scalar(self, style):
        token = super().scan_flow_scalar(style)
        if any("\ud800" <= c <= "\udfff" for c in token.value):  # only an escape can make one
            raise ScannerError("while parsing a quoted scalar", token.start_mark,
                               "found invalid Unicode character escape code", self.get_mark())
        return token

    def scan_block_scalar_indicators(self, start_mark):
        """`+`/`-` and an indentation digit, in either order; then go-yaml
        takes blanks (tabs too) or a comment, directly or after them."""
        chomping = increment = None
        for _ in range(2):
            ch = self.peek()
            if ch in "+-" and chomping is None:
                chomping = ch == "+"
            elif ch in "0123456789" and increment is None:
                if ch == "0":
                    raise ScannerError("while scanning a block scalar", start_mark,
                                       "expected indentation indicator in the range 1-9, but found 0",
                                       self.get_mark())
                increment = int(ch)
            else:
                break
            self.forward()
        if self.peek() not in _BLANKZ + "#":
            raise ScannerError("while scanning a block scalar", start_mark,
                               f"expected chomping or indentation indicators, but found {self.peek()!r}",
                               self.get_mark())
        return chomping, increment

    def scan_block_scalar_ignored_line(self, start_mark):
        while self.peek() in " \t":
            self.forward()
        if self.peek() == "#":
            while self.peek() not in "\0" + _BREAKS:
                self.forward()
        if self.peek() not in "\0" + _BREAKS:
            raise ScannerError("while scanning a block scalar", start_mark,
                               f"expected a comment or a line break, but found {self.peek()!r}", self.get_mark())
        self.scan_line_break()

    def scan_block_scalar_indentation(self):
        found = super().scan_block_scalar_indentation()
        if self.peek() == "\t":
            self._tab_in_block_indentation()
        return found

    def scan_block_scalar_breaks(self, indent):
        found = super().scan_block_scalar_breaks(indent)
        if self.column < indent and self.peek() == "\t":
            self._tab_in_block_indentation()
        return found

    def _tab_in_block_indentation(self):
        raise ScannerError("while scanning a block scalar", self._block_start,
                           "found a tab character where an indentation space is expected", self.get_mark())

    def scan_plain(self):
        """A plain scalar as go-yaml scans it: words separated by spaces or
        tabs, folded over line breaks, ending at `: `, ` #`, a flow
        indicator in flow context, or a line indented less than the block."""
        chunks: list[str] = []
        start_mark = end_mark = self.get_mark()
        indent = self.indent + 1
        whitespace = ""
        leading_break = ""
        trailing_breaks = ""
        leading_blanks = False
        while True:
            if self.column == 0 and self.prefix(3) in ("---", "...") and self.peek(3) in _BLANKZ:
                break
            if self.peek() == "#":
                break
            while self.peek() not in _BLANKZ:
                ch = self.peek()
                if (ch == ":" and self.peek(1) in _BLANKZ) or (self.flow_level and ch in ",?[]{}"):
                    break
                if leading_blanks:
                    if leading_break == "\n":
                        chunks.append(trailing_breaks or " ")
                    else:
                        chunks.append(leading_break + trailing_breaks)
                    leading_break = trailing_breaks = ""
                    leading_blanks = False
                elif whitespace:
                    chunks.append(whitespace)
                    whitespace = ""
                chunks.append(ch)
                self.forward()
                end_mark = self.get_mark()
            if self.peek() not in " \t" + _BREAKS:
                break
            while self.peek() in " \t" + _BREAKS:
                ch = self.peek()
                if ch in " \t":
                    if leading_blanks and self.column < indent and ch == "\t":
                        raise ScannerError("while scanning a plain scalar", start_mark,
                                           "found a tab character that violates indentation", self.get_mark())
                    if not leading_blanks:
                        whitespace += ch
                    self.forward()
                elif not leading_blanks:
                    whitespace = ""
                    leading_break = self.scan_line_break()
                    leading_blanks = True
                else:
                    trailing_breaks += self.scan_line_break()
            if not self.flow_level and self.column < indent:
                break
        if leading_blanks:
            self.allow_simple_key = True
        return ScalarToken("".join(chunks), True, start_mark, end_mark)


class _Parser(Parser):
    def process_directives(self):
        mark = self.peek_token().start_mark
        found = super().process_directives()
        if self.yaml_version is not None and self.yaml_version != (1, 1):
            raise ParserError(None, None, "found incompatible YAML document", mark)  # go-yaml reads 1.1 only
        return found


class _Loader(Reader, _Scanner, _Parser):
    def __init__(self, stream):
        Reader.__init__(self, stream)
        _Scanner.__init__(self)
        _Parser.__init__(self)


# PyYAML's problem texts → go-yaml's.
_PROBLEMS = [
    (r"found character .* that cannot start any token", "found character that cannot start any token"),
    (r"mapping values are not allowed here", "mapping values are not allowed in this context"),
    (r"mapping keys are not allowed here", "mapping keys are not allowed in this context"),
    (r"sequence entries are not allowed here", "block sequence entries are not allowed in this context"),
    (r"expected ',' or '\]', but got .*", "did not find expected ',' or ']'"),
    (r"expected ',' or '\}', but got .*", "did not find expected ',' or '}'"),
    (r"expected <block end>, but found .*", None),  # depends on the collection
    (r"expected the node content, but found .*", "did not find expected node content"),
    (r"expected '<document start>', but found .*", "did not find expected <document start>"),
    (r"found undefined tag handle .*", "found undefined tag handle"),
    (r"found unknown escape character .*", "found unknown escape character"),
    (r"expected escape sequence of \d+ hexadecimal numbers, but found .*", "did not find expected hexdecimal number"),
    (r"found unexpected document separator", "found unexpected document indicator"),
    (r"expected alphabetic or numeric character, but found .*", "did not find expected alphabetic or numeric character"),
    (r"expected indentation indicator in the range 1-9, but found 0", "found an indentation indicator equal to 0"),
    (r"expected chomping or indentation indicators, but found .*", "did not find expected comment or line break"),
    (r"expected a comment or a line break, but found .*", "did not find expected comment or line break"),
    (r"expected '>', but found .*", "did not find the expected '>'"),
    (r"expected ' ', but found .*", "did not find expected whitespace or line break"),
    (r"expected '!', but found .*", "did not find expected '!'"),
    (r"expected a directive name, but found .*", "did not find expected directive name"),
    (r"expected alphabetic or numeric character, but found .*", "did not find expected alphabetic or numeric character"),
    (r"expected a digit or '\.', but found .*", "did not find expected digit or '.' character"),
    (r"expected a digit or ' ', but found .*", "did not find expected digit or '.' character"),
    (r"expected a digit, but found .*", "did not find expected version number"),
    (r"found duplicate YAML directive", "found duplicate %YAML directive"),
    (r"found incompatible YAML document.*", "found incompatible YAML document"),
    (r"found duplicate tag handle .*", "found duplicate %TAG directive"),
]


def _go_problem(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or ""
    if error.context == "while scanning a directive" and problem.startswith("expected alphabetic or numeric"):
        return "could not find expected directive name"
    for pattern, text in _PROBLEMS:
        if re.fullmatch(pattern, problem):
            if text is None:
                context = error.context or ""
                return "did not find expected key" if "mapping" in context else "did not find expected '-' indicator"
            return text
    return problem


def _syntax_error(error: yaml.YAMLError) -> YAMLSyntaxError:
    if isinstance(error, ReaderError):
        if isinstance(error.character, bytes):
            return YAMLSyntaxError("yaml: invalid leading UTF-8 octet")
        return YAMLSyntaxError("yaml: control characters are not allowed")
    if not isinstance(error, yaml.MarkedYAMLError):
        return YAMLSyntaxError(f"yaml: {error}")
    scanner = isinstance(error, ScannerError)
    context_mark = error.context_mark
    if context_mark is None and scanner:
        context_mark = error.problem_mark  # go-yaml marks the offending character as the context
    line = 0
    for mark in (context_mark, error.problem_mark):
        if mark is not None and mark.line != 0:
            line = mark.line + (1 if scanner else 0)
            break
    where = f"line {line}: " if line else ""
    return YAMLSyntaxError(f"yaml: {where}{_go_problem(error)}")


class _Composer:
    """Events of the first document → nodes, without recursion."""

    def __init__(self, loader: _Loader):
        self.loader = loader
        self.anchors: dict[str, Node] = {}
        self.points: list[tuple[tuple[int, int], Node]] = []  # where head comments attach
        self.flow_spans: list[tuple[tuple[int, int], tuple[int, int], Node]] = []

    def compose(self) -> Node | None:
        loader = self.loader
        root: Node | None = None
        stack: list[list] = []  # [node, pending key, start mark]
        while True:
            event = loader.get_event()
            if isinstance(event, (ev.StreamStartEvent, ev.DocumentStartEvent)):
                continue
            if isinstance(event, (ev.DocumentEndEvent, ev.StreamEndEvent)):
                return root
            node: Node | None = None
            if isinstance(event, ev.AliasEvent):
                target = self.anchors.get(event.anchor)
                if target is None:
                    raise YAMLSyntaxError(f"yaml: unknown anchor '{event.anchor}' referenced")
                node = self._node(ALIAS, event, value=event.anchor)
                node.target = target
            elif isinstance(event, ev.ScalarEvent):
                node = self._scalar(event)
            elif isinstance(event, (ev.SequenceStartEvent, ev.MappingStartEvent)):
                kind = SEQUENCE if isinstance(event, ev.SequenceStartEvent) else MAPPING
                collection = self._node(kind, event)
                collection.style = FLOW if event.flow_style else ""
                self._place(stack, collection)
                if event.anchor:
                    self.anchors[event.anchor] = collection
                stack.append([collection, None, event.start_mark])
                continue
            elif isinstance(event, (ev.SequenceEndEvent, ev.MappingEndEvent)):
                collection, _, start = stack.pop()
                if collection.style == FLOW:
                    end = event.end_mark
                    self.flow_spans.append(((start.line, start.column), (end.line, end.column), collection))
                if not stack:
                    root = collection
                continue
            if node is None:
                continue
            if event.anchor and node.kind != ALIAS:
                self.anchors[event.anchor] = node
            self._place(stack, node)
            if not stack:
                root = node

    def _place(self, stack: list[list], node: Node) -> None:
        if not stack:
            return
        frame = stack[-1]
        parent = frame[0]
        block = parent.style != FLOW
        if parent.kind == SEQUENCE:
            parent.items.append(node)
            if block:
                self.points.append(((node.line - 1, node.column - 1), node))
        elif frame[1] is None:
            frame[1] = node
            if block:
                self.points.append(((node.line - 1, node.column - 1), node))
        else:
            parent.items.append((frame[1], node))
            frame[1] = None

    @staticmethod
    def _node(kind: str, event, value: str = "") -> Node:
        tag = event.tag if getattr(event, "tag", None) not in (None, "!") else ""
        node = Node(kind, tag=tag, value=value, tagged=bool(tag), anchor=getattr(event, "anchor", None) or "",
                    line=event.start_mark.line + 1, column=event.start_mark.column + 1)
        if not tag:
            node.tag = {MAPPING: "tag:yaml.org,2002:map", SEQUENCE: "tag:yaml.org,2002:seq"}.get(kind, "")
        return node

    def _scalar(self, event: ev.ScalarEvent) -> Node:
        node = self._node(SCALAR, event, value=event.value)
        node.style = event.style or ""
        if not node.tagged:
            if node.style:
                node.tag = STR
            elif event.value == "<<":
                node.tag = MERGE
            else:
                node.tag = resolve(event.value)[0]
        return node

    def attach_comments(self, text: str, comments: list[tuple[int, int, str]]) -> None:
        """Give each comment to the node go-yaml writes it out again beside,
        as far as the lines of what follows depend on it: a comment on a line
        of its own (or after a sequence's `- `) goes before the next key or
        item; inside a flow collection, one after an item ends the line there
        and one on its own line comes before the next item; comments after the
        last node, after a value on its line, and after a flow collection's
        opening bracket change no line and are left out."""
        if not comments:
            return
        lines = text.splitlines()
        points = sorted(self.points, key=lambda p: p[0])
        index = 0
        previous_line = None
        previous_point = None
        group_column = 0
        ends: dict[int, list] = {}
        for line, column, body in comments:
            position = (line, column)
            before = lines[line][:column].strip(" \t") if line < len(lines) else ""
            spans = [span for span in self.flow_spans if span[0] < position < span[1]]
            if spans:
                self._flow_comment(max(spans, key=lambda span: span[0])[2], position, body, before == "")
                continue
            if before not in ("", "-"):
                continue
            while index < len(points) and points[index][0] <= position:
                index += 1
            if index == len(points):
                continue
            node = points[index][1]
            if before == "-" and node.kind in (MAPPING, SEQUENCE) and node.style != FLOW and not node.dash_comment:
                node.dash_comment = body  # go-yaml keeps it after the dash, the collection on the next line
                continue
            block_indent = points[index - 1][0][1] if index else 0
            if previous_point is node and previous_line is not None and (
                line - previous_line > 1  # a blank line between two comments is kept
                or column < block_indent and column != group_column  # go-yaml splits foot from head there
            ):
                node.head.append("")
                group_column = column
            elif previous_point is not node:
                group_column = column
            node.head.append(body)
            previous_line, previous_point = line, node
            if id(node) not in ends:
                directly_below = line > 0 and lines[line - 1].strip() != "" and not lines[line - 1].lstrip().startswith("#")
                ends[id(node)] = [node, line, column, points[index - 1][0][1] if index else -1, directly_below]
            ends[id(node)][1] = line
        for node, last, _first_column, previous_column, directly_below in ends.values():
            # comments right below a key's content and followed by an empty line are that key's
            # foot; go-yaml writes an empty line between a foot and the key's next sibling
            if directly_below and previous_column == node.column - 1 and node.line - 1 - last > 1:
                node.head.append("")

    @staticmethod
    def _flow_comment(collection: Node, position: tuple[int, int], body: str, own_line: bool) -> None:
        items = [item[0] if isinstance(item, tuple) else item for item in collection.items]
        starts = [((item.line - 1, item.column - 1), item) for item in items]
        if own_line:
            following = [item for start, item in starts if start > position]
            if following:
                following[0].head.append(body)
            return
        preceding = [item for start, item in starts if start < position]
        if preceding:
            preceding[-1].flow_comment = body


def load(text: str | bytes) -> Node | None:
    """The first document of `text` as nodes (None when there is none);
    YAMLSyntaxError as go-yaml reports it."""
    loader = _Loader(text)
    try:
        composer = _Composer(loader)
        root = composer.compose()
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        composer.attach_comments(text, loader.comments)
        return root
    except yaml.YAMLError as error:
        raise _syntax_error(error) from None
    finally:
        loader.dispose()
