"""PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes strategic merge patch."""

import copy

# Lists merged item by item (by key) in a strategic merge patch, as Kubernetes' Go types declare them.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "conditions": "type",
    "imagePullSecrets": "name", "hostAliases": "ip", "ownerReferences": "uid", "envFrom": None,
    "topologySpreadConstraints": "topologyKey", "ports": "port", "webhooks": "name",
}
# Primitive lists merged as sets.
MERGE_SETS = ("finalizers",)


class PatchError(ValueError):
    """A patch that cannot be applied (the API answers 422 or 400)."""


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _list_merge_key(field, items):
    """The merge key of a list field (ports: containerPort for container ports, port for service ports)."""
    if field == "ports":
        for item in items:
            if isinstance(item, dict) and "containerPort" in item:
                return "containerPort"
    return MERGE_KEYS.get(field)


def _merge_list(field, current, patch):
    key = _list_merge_key(field, list(current) + list(patch))
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    if key is None or not all(isinstance(i, dict) and key in i for i in patch):
        return copy.deepcopy(patch)
    result = [copy.deepcopy(i) for i in current]
    for item in patch:
        index = next((n for n, cur in enumerate(result) if isinstance(cur, dict) and cur.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip(item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _strip(value):
    """Remove patch directives from a value inserted as a whole."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def strategic_merge(target, patch):
    """Strategic merge patch with the merge keys above and the $patch, $retainKeys,
    $setElementOrder and $deleteFromPrimitiveList directives."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip(patch)
    if directive == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in (value or [])]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and isinstance(result.get(key), list):
            if key in MERGE_SETS:
                result[key] = list(result[key]) + [v for v in value if v not in result[key]]
            else:
                result[key] = _merge_list(key, result[key], value)
        else:
            result[key] = _strip(value)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            raise KeyError(part)
    return node


def _get(doc, parts):
    node = doc
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _remove(doc, parts):
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, list):
        return parent.pop(int(last))
    return parent.pop(last)


def _add(doc, parts, value, replace=False):
    if not parts:
        return value
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif replace:
            parent[int(last)] = value
        else:
            index = int(last)
            if index > len(parent):
                raise IndexError(last)
            parent.insert(index, value)
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise KeyError(last)
        parent[last] = value
    else:
        raise KeyError(last)
    return doc


def json_patch(target, operations):
    """RFC 6902 JSON patch."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        try:
            kind, parts = op["op"], _pointer(op["path"])
            if kind == "add":
                doc = _add(doc, parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                _remove(doc, parts)
            elif kind == "replace":
                doc = _add(doc, parts, copy.deepcopy(op["value"]), replace=True)
            elif kind in ("move", "copy"):
                source = _pointer(op["from"])
                value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
                doc = _add(doc, parts, value)
            elif kind == "test":
                if _get(doc, parts) != op["value"]:
                    raise PatchError("test operation failed at %s" % op["path"])
            else:
                raise PatchError("unknown JSON patch operation %r" % kind)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            if isinstance(exc, PatchError):
                raise
            raise PatchError("cannot apply %r: %s" % (op, exc)) from exc
    return doc


def prune(live, previous, applied):
    """Remove from live the fields a previous applied configuration set and the new one no longer sets
    (maps key by key, merge-keyed lists item by item); metadata name/namespace are never removed."""
    if not (isinstance(live, dict) and isinstance(previous, dict) and isinstance(applied, dict)):
        return live
    result = dict(live)
    for key, old in previous.items():
        if key not in applied:
            if key not in ("name", "namespace", "apiVersion", "kind"):
                result.pop(key, None)
        elif isinstance(old, dict):
            result[key] = prune(result.get(key), old, applied[key])
        elif isinstance(old, list) and isinstance(applied[key], list) and isinstance(result.get(key), list):
            merge_key = _list_merge_key(key, old + applied[key])
            if merge_key and all(isinstance(i, dict) for i in old + applied[key] + result[key]):
                kept = {i.get(merge_key) for i in applied[key]}
                dropped = {i.get(merge_key) for i in old} - kept
                old_by_key = {i.get(merge_key): i for i in old}
                new_by_key = {i.get(merge_key): i for i in applied[key]}
                result[key] = [prune(i, old_by_key.get(i.get(merge_key)), new_by_key.get(i.get(merge_key)))
                               for i in result[key] if i.get(merge_key) not in dropped]
    return result
