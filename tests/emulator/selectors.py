"""Label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors (dotted paths, = == !=)."""

import re

from emulator.errors import ApiError

_TERM = re.compile(r"""\s*(?:
      (?P<not>!)\s*(?P<nkey>[^\s,!=()]+)                                  # !key
    | (?P<skey>[^\s,!=()]+)\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)  # key in (a,b)
    | (?P<key>[^\s,!=()]+)\s*(?:(?P<op>==|!=|=)\s*(?P<value>[^\s,!=()]*))?  # key, key=v, key!=v
    )\s*(?:,|$)""", re.X)


def _terms(selector, what):
    pos, terms = 0, []
    selector = selector.strip()
    while pos < len(selector):
        match = _TERM.match(selector, pos)
        if not match or match.end() == pos:
            raise ApiError(400, "unable to parse requirement: invalid %s selector %r" % (what, selector))
        terms.append(match)
        pos = match.end()
    return terms


def label_matcher(selector):
    """A predicate over a labels dict, or None for an empty selector."""
    if not selector:
        return None
    checks = []
    for term in _terms(selector, "label"):
        if term.group("not"):
            key = term.group("nkey")
            checks.append(lambda labels, k=key: k not in labels)
        elif term.group("setop"):
            key, values = term.group("skey"), {v.strip() for v in term.group("values").split(",") if v.strip()}
            if term.group("setop") == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif term.group("op"):
            key, value = term.group("key"), term.group("value")
            if term.group("op") == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
        else:
            key = term.group("key")
            checks.append(lambda labels, k=key: k in labels)
    return lambda labels: all(check(labels) for check in checks)


def labels_match(selector, labels):
    """Whether labels match a structured LabelSelector (matchLabels + matchExpressions); None or {} selects everything."""
    selector = selector or {}
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _field(obj, path):
    node = obj
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return "" if node is None else str(node)


def field_matcher(selector):
    """A predicate over an object, or None for an empty selector."""
    if not selector:
        return None
    checks = []
    for term in _terms(selector, "field"):
        if not term.group("op"):
            raise ApiError(400, "invalid field selector %r" % selector)
        path, value = term.group("key"), term.group("value")
        if term.group("op") == "!=":
            checks.append(lambda obj, p=path, v=value: _field(obj, p) != v)
        else:
            checks.append(lambda obj, p=path, v=value: _field(obj, p) == v)
    return lambda obj: all(check(obj) for check in checks)
