"""Cloud Elements Query Language (CEQL) ``where`` clauses, as far as a poller needs them.

Comparisons ``field op value`` joined by ``and``; values may be quoted strings, bare words or
``${...}`` placeholders (masked while the clause is split, since they hold quotes, colons and
spaces). Anything else (``or``, ``like``, parentheses...) is refused with a message naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bcevents.compat.dates import parse_date_lenient


class UnsupportedQuery(ValueError):
    """The CEQL ``where`` clause uses a term the endpoint cannot express."""


_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_MASK = re.compile(r"\x00([0-9]+)\x00")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>>=|<=|!=|<>|=|>|<)|(?P<paren>[()])|(?P<bare>[^\s'()<>=!]+)|(?P<other>\S))"
)
_DATE_FIELDS = {"date_modified": "modified", "lastupdated": "modified", "date_created": "created"}
_MIN_MAX_FIELD = re.compile(r"(min|max)_date_(modified|created)")


@dataclass(frozen=True)
class Term:
    name: str
    op: str
    value: str
    placeholder: str | None
    text: str


def mask(url: str, originals: list[str]) -> str:
    """Replace each placeholder text with a NUL-delimited index (see :func:`unmask`)."""
    # Placeholders hold quotes, colons and spaces; hide them while the URL and CEQL are split.
    for index, text in enumerate(originals):
        url = url.replace(text, f"\x00{index}\x00", 1)
    return url


def unmask(text: str, originals: list[str]) -> str:
    """Put the placeholders :func:`mask` hid back."""
    return _MASK.sub(lambda m: originals[int(m.group(1))], text)


def parse_where(where: str, originals: list[str], resource: str) -> list[Term]:
    """The comparisons of a masked ``where`` clause; UnsupportedQuery names what cannot be read."""
    tokens = [(m.lastgroup or "", m.group(m.lastgroup or 0)) for m in _TOKEN.finditer(where)]
    shown = unmask(where, originals)
    terms: list[Term] = []
    index = 0

    def take() -> tuple[str, str]:
        nonlocal index
        index += 1
        return tokens[index - 1] if index <= len(tokens) else ("end", "end of clause")

    def reject(offending: str, detail: str) -> UnsupportedQuery:
        return UnsupportedQuery(
            f"resource {resource!r}: {unmask(offending, originals)!r} in where clause {shown!r} {detail};"
            " supported: comparisons `field op value` with =, >=, >, <=, < joined by 'and'"
        )

    while tokens:
        kind, name = take()
        if kind == "paren":
            raise reject(name, "(parentheses) is not supported")
        if kind != "bare" or not _FIELD.fullmatch(name) or name.lower() in ("and", "or", "not"):
            raise reject(name, "is not a field name")
        kind, op = take()
        if kind != "op" or op in ("!=", "<>"):
            raise reject(op, "is not a supported operator")
        kind, value = take()
        text = unmask(f"{name}{op}{value}", originals)
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        elif kind != "bare":
            raise reject(value, "is not a value")
        elif value.lower() in ("true", "false"):
            value = value.lower()
        placeholder = _MASK.search(value)
        terms.append(
            Term(
                name.lower(),
                op,
                unmask(value, originals),
                originals[int(placeholder.group(1))] if placeholder else None,
                text,
            )
        )
        if index == len(tokens):
            return terms
        kind, joiner = take()
        if joiner.lower() != "and":
            raise reject(joiner, "is not supported (only 'and' joins comparisons)")
    return terms


def date_role(term: Term, resource: str) -> tuple[str, int] | None:
    """(``modified``|``created``, 0 for a lower bound / 1 for an upper bound), or None."""
    named = _MIN_MAX_FIELD.fullmatch(term.name)
    if named:
        if term.op != "=":
            raise UnsupportedQuery(f"resource {resource!r}: {term.text!r}: write {term.name}='...'")
        return named.group(2), 0 if named.group(1) == "min" else 1
    date_kind = _DATE_FIELDS.get(term.name)
    if date_kind is None:
        return None
    if term.op == "=":
        raise UnsupportedQuery(
            f"resource {resource!r}: {term.text!r}: an exact date cannot drive polling; use >= or <="
        )
    return date_kind, 0 if term.op in (">=", ">") else 1


def literal_date(term: Term, resource: str) -> datetime:
    """The date a comparison states literally (any format :func:`parse_date_lenient` reads)."""
    value = parse_date_lenient(term.value, None)
    if value is None:
        raise UnsupportedQuery(f"resource {resource!r}: {term.text!r}: cannot read the date {term.value!r}")
    return value
