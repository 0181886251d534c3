"""Pebble's expression syntax, parsed with Pebble's own precedences and written out as fully bracketed Jinja.

Pebble and Jinja differ where it hurts silently: in Pebble `~` and `??` bind tighter than a filter
(`'a' ~ 'b' | upper` is `AB`), `not` binds tighter than a comparison, `a ? b : c` is a ternary, `1..3` and
`range(1, 3)` include their end, `loop.index` counts from 0, `null` is a literal and `elseif` a tag. Parsing
with Pebble's table and bracketing every operation keeps Pebble's meaning whatever Jinja's own precedences are.
Operator facts: https://pebbletemplates.io/wiki/guide/basic-usage/ and Kestra's `??` / `???` operators,
https://kestra.io/docs/expressions
"""

import re

from backfill_core.flows.pebble.limits import PebbleProblem

_BINARY = {
    "or": 10,
    "and": 15,
    "is": 20,
    "contains": 20,
    "in": 20,
    "not in": 20,
    "==": 30,
    "equals": 30,
    "!=": 30,
    ">": 30,
    "<": 30,
    ">=": 30,
    "<=": 30,
    "+": 40,
    "-": 40,
    "*": 60,
    "/": 60,
    "//": 60,
    "%": 60,
    "**": 70,
    "|": 100,
    "~": 110,
    "..": 120,
    "??": 120,
    "???": 120,
}
_UNARY = {"not": 500, "-": 500, "+": 500}
_LITERALS = {"true": "true", "false": "false", "null": "none", "none": "none"}
_PEBBLE_LOOP = {"index": "index0", "revindex": "revindex0"}

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_]\w*)
    |(?P<op>\?\?\?|\?\?|\.\.|==|!=|<=|>=|\*\*|//|[-+*/%~|()\[\]{},:?.<>=]))""",
    re.VERBOSE,
)


class PebbleSyntaxError(PebbleProblem):
    """The expression is not Pebble; the message says where."""


def _tokens(body: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while body[position:].strip():
        match = _TOKEN.match(body, position)
        if match is None or match.lastgroup is None:
            raise PebbleSyntaxError(f"unexpected '{body[position:].strip()[:20]}'")
        found.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return found


class _Parser:
    def __init__(self, body: str):
        self.tokens = _tokens(body)
        self.position = 0

    def peek(self, offset: int = 0) -> str | None:
        index = self.position + offset
        return self.tokens[index][1] if index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise PebbleSyntaxError("the expression ends too early")
        self.position += 1
        return self.tokens[self.position - 1]

    def accept(self, text: str) -> bool:
        if self.peek() == text and self.tokens[self.position][0] != "string":
            self.position += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise PebbleSyntaxError(f"expected '{text}' but found '{self.peek() or 'the end'}'")

    def whole(self) -> str:
        code = self.expression()
        if self.peek() is not None:
            raise PebbleSyntaxError(f"unexpected '{self.peek()}'")
        return code

    def operator(self) -> str | None:
        if self.position >= len(self.tokens) or self.tokens[self.position][0] in ("string", "number"):
            return None
        text = self.tokens[self.position][1]
        if text == "not" and self.peek(1) == "in":
            return "not in"
        return text if text in _BINARY else None

    def expression(self, minimum: int = 0) -> str:
        left = self.unary()
        while (operator := self.operator()) is not None and _BINARY[operator] >= minimum:
            self.position += 2 if operator == "not in" else 1
            if operator == "|":
                left = f"({left} | {self.callee()})"
            elif operator == "is":
                negation = "not " if self.accept("not") else ""
                left = f"({left} is {negation}{self.callee()})"
            else:
                left = _combine(operator, left, self.expression(_BINARY[operator] + 1))
        if minimum == 0 and self.accept("?"):
            chosen = self.expression()
            self.expect(":")
            left = f"(({chosen}) if ({left}) else ({self.expression()}))"
        return left

    def unary(self) -> str:
        kind, text = self.tokens[self.position] if self.position < len(self.tokens) else ("", "")
        if kind in ("name", "op") and text in _UNARY:
            self.position += 1
            operand = self.expression(_UNARY[text])
            return f"(not {operand})" if text == "not" else f"({text}{operand})"
        return self.postfix(self.primary())

    def primary(self) -> str:
        kind, text = self.take()
        if kind == "string":
            return _string(text)
        if kind == "number":
            return text
        if kind == "name":
            if text in _LITERALS:
                return _LITERALS[text]
            return f"{text}({self.arguments()})" if self.peek() == "(" else text
        if text == "(":
            inner = self.expression()
            self.expect(")")
            return f"({inner})"
        if text == "[":
            return f"[{', '.join(self.items(']', self.expression))}]"
        if text == "{":
            return "{" + ", ".join(self.items("}", self.pair)) + "}"
        raise PebbleSyntaxError(f"unexpected '{text}'")

    def pair(self) -> str:
        key = self.expression()
        self.expect(":")
        return f"{key}: {self.expression()}"

    def items(self, closing: str, item) -> list[str]:
        found: list[str] = []
        while not self.accept(closing):
            if found:
                self.expect(",")
            found.append(item())
        return found

    def postfix(self, node: str) -> str:
        while True:
            if self.accept("."):
                kind, attribute = self.take()
                if kind == "number":
                    node = f"{node}[{attribute}]"
                    continue
                if kind != "name":
                    raise PebbleSyntaxError(f"unexpected '{attribute}' after '.'")
                if node == "loop":
                    attribute = _PEBBLE_LOOP.get(attribute, attribute)
                node = f"{node}.{attribute}" + (f"({self.arguments()})" if self.peek() == "(" else "")
            elif self.accept("["):
                index = self.expression()
                self.expect("]")
                node = f"{node}[{index}]"
            else:
                return node

    def arguments(self) -> str:
        self.expect("(")
        return ", ".join(self.items(")", self.argument))

    def argument(self) -> str:
        if self.position + 1 < len(self.tokens) and self.tokens[self.position][0] == "name" and self.peek(1) == "=":
            name = self.take()[1]
            self.position += 1
            return f"{name}={self.expression()}"
        return self.expression()

    def callee(self) -> str:
        kind, name = self.take()
        if kind != "name":
            raise PebbleSyntaxError(f"expected a filter or test name but found '{name}'")
        return f"{name}({self.arguments()})" if self.peek() == "(" else name


def _combine(operator: str, left: str, right: str) -> str:
    if operator == "??":
        return f"({left} | coalesce({right}))"
    if operator == "???":
        return f"({left} | coalesce_undefined({right}))"
    if operator == "..":
        return f"range({left}, {right})"
    if operator == "contains":
        return f"({left} | contains({right}))"
    return f"({left} {'==' if operator == 'equals' else operator} {right})"


def _string(literal: str) -> str:
    """A double-quoted Pebble string interpolates `#{expression}`; Jinja's does not, so it becomes a `~` chain."""
    if literal[0] != '"' or "#{" not in literal:
        return literal
    body, parts, start = literal[1:-1], [], 0
    while (opening := body.find("#{", start)) >= 0:
        closing = _closing_brace(body, opening + 2)
        parts += [f'"{body[start:opening]}"', f"({_Parser(body[opening + 2 : closing]).whole()})"]
        start = closing + 1
    return "(" + " ~ ".join([*parts, f'"{body[start:]}"']) + ")"


def _closing_brace(text: str, start: int) -> int:
    depth, position = 0, start
    while position < len(text):
        char = text[position]
        if char in "'\"":
            match = re.compile(rf"{char}(?:[^{char}\\]|\\.)*{char}").match(text, position)
            position = match.end() if match else len(text)
            continue
        depth += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(char, 0)
        if depth < 0:
            return position
        position += 1
    raise PebbleSyntaxError("'#{' is never closed")


def expression(body: str) -> str:
    """One Pebble expression as Jinja source."""
    return _Parser(body).whole()


_TAG = re.compile(r"\s*(?P<name>\w+)\s*(?P<rest>.*?)\s*", re.DOTALL)
_FOR = re.compile(r"(?P<targets>\w+(?:\s*,\s*\w+)*)\s+in\s+(?P<iterable>.+)", re.DOTALL)
_SET = re.compile(r"(?P<target>\w+)\s*=\s*(?P<value>.+)", re.DOTALL)
_RAW_END = {"raw": re.compile(r"\{%-?\s*endraw\s*-?%\}"), "verbatim": re.compile(r"\{%-?\s*endverbatim\s*-?%\}")}


def translate(template: str) -> str:
    """A Pebble template as a Jinja template: expressions and the expressions of `if`, `elseif`, `for` and `set`
    tags are translated; text, comments and `raw`/`verbatim` blocks are kept as they are."""
    out, position = [], 0
    while (start := _next_opening(template, position)) >= 0:
        out.append(template[position:start])
        opener = template[start : start + 2]
        if opener == "{#":
            end = template.find("#}", start)
            if end < 0:
                raise PebbleSyntaxError("'{#' is never closed")
            out.append(template[start : end + 2])
            position = end + 2
            continue
        closer = "}}" if opener == "{{" else "%}"
        end = _closing(template, start + 2, closer)
        body = template[start + 2 : end]
        left = "-" if body.startswith("-") else ""
        right = "-" if body.endswith("-") and len(body) > len(left) else ""
        inner = body[len(left) : len(body) - len(right)]
        position = end + 2
        if opener == "{{":
            out.append(f"{{{{{left} {expression(inner)} {right}}}}}")
            continue
        tag = _TAG.fullmatch(inner)
        name = tag["name"] if tag else ""
        if name in _RAW_END:
            raw_end = _RAW_END[name].search(template, position)
            if raw_end is None:
                raise PebbleSyntaxError(f"'{{% {name} %}}' is never closed")
            out.append("{% raw %}" + template[position : raw_end.start()] + "{% endraw %}")
            position = raw_end.end()
            continue
        out.append(f"{{%{left} {_tag(name, tag['rest']) if tag else inner} {right}%}}")
    out.append(template[position:])
    return "".join(out)


def _next_opening(template: str, position: int) -> int:
    found = [i for i in (template.find(o, position) for o in ("{{", "{%", "{#")) if i >= 0]
    return min(found, default=-1)


def _closing(template: str, position: int, closer: str) -> int:
    depth = 0
    while position < len(template):
        char = template[position]
        if char in "'\"":
            match = re.compile(rf"{char}(?:[^{char}\\]|\\.)*{char}").match(template, position)
            position = match.end() if match else len(template)
            continue
        if depth <= 0 and template.startswith(closer, position):
            return position
        depth += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(char, 0)
        position += 1
    raise PebbleSyntaxError(f"'{ {'}}': '{{', '%}': '{%'}[closer] }' is never closed")


def _tag(name: str, rest: str) -> str:
    if name in ("if", "elseif"):
        return f"{'if' if name == 'if' else 'elif'} {expression(rest)}"
    if name == "for" and (loop := _FOR.fullmatch(rest)):
        return f"for {loop['targets']} in ({expression(loop['iterable'])} | entries)"
    if name == "set" and (assignment := _SET.fullmatch(rest)):
        return f"set {assignment['target']} = {expression(assignment['value'])}"
    return f"{name} {rest}".strip()
