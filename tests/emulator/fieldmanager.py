"""Field ownership (metadata.managedFields) like the API server's field manager (structured-merge-diff):

- Update operations (POST, PUT, non-apply PATCH; controllers' writes) give their manager the fields they add or
  change, and take those fields from every other manager.
- Apply (server-side apply) gives its manager exactly the fields of the applied configuration; a field another manager
  owns and the apply would change is a conflict (409, the real Status) unless force=true, which takes it over; fields the
  manager applied before, no longer applies and nobody else owns are removed from the object.

Field sets are sets of paths; a path is a tuple of elements ("f", name) | ("k", '{"name":"x"}') | ("v", '"x"') and
renders as FieldsV1 ("f:name", "k:{...}", "v:...", "." for a member that also has children) or, in messages, as
.spec.containers[name="x"].image. Without the OpenAPI schema the type information is approximated: the list merge keys
of the built-in types below (other lists are atomic), LabelSelectors atomic, "." only for list items and map-typed fields.
"""

import datetime
import json

from emulator.errors import ApiError

# Associative lists of the built-in types: field name -> key fields (ports: see _list_keys).
LIST_KEYS = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",), "env": ("name",),
    "volumes": ("name",), "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",), "conditions": ("type",),
    "imagePullSecrets": ("name",), "hostAliases": ("ip",), "ownerReferences": ("uid",), "webhooks": ("name",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"), "resourceClaims": ("name",),
}
SET_LISTS = ("finalizers",)
MAP_FIELDS = ("labels", "annotations", "data", "binaryData", "stringData", "matchLabels", "nodeSelector", "requests", "limits",
              "capacity", "allocatable", "parameters")
STRIPPED_META = ("name", "namespace", "creationTimestamp", "selfLink", "uid", "generation", "managedFields", "resourceVersion",
                 "deletionTimestamp", "deletionGracePeriodSeconds")
CONTROLLER_MANAGER = "kube-controller-manager"


def _key_json(mapping):
    return json.dumps(dict(sorted(mapping.items())), separators=(",", ":"))


def _value_json(value):
    return json.dumps(value, separators=(",", ":"))


def _list_keys(field, items, builtin):
    """("k", key fields) for an associative list, ("v",) for a set, None for an atomic list."""
    if field in SET_LISTS and all(not isinstance(i, (dict, list)) for i in items):
        return ("v",)
    if not builtin and field not in ("ownerReferences",):
        return None
    if field == "ports":
        if items and all(isinstance(i, dict) and "containerPort" in i for i in items):
            return ("k", ("containerPort", "protocol"))
        if items and all(isinstance(i, dict) and "port" in i for i in items):
            return ("k", ("port", "protocol"))
        return None
    keys = LIST_KEYS.get(field)
    if keys and items and all(isinstance(i, dict) and all(k in i for k in keys) for i in items):
        return ("k", keys)
    return None


def _item_element(kind, item):
    if kind[0] == "v":
        return ("v", _value_json(item))
    keys = {k: item.get(k, "TCP" if k == "protocol" else None) for k in kind[1]}
    return ("k", _key_json(keys))


def _atomic_dict(value):
    """LabelSelectors are atomic structs (+structType=atomic)."""
    return bool(value) and set(value) <= {"matchLabels", "matchExpressions"}


# ---- field sets ------------------------------------------------------------------------------------------------
def to_set(value, builtin, path=()):
    """The field set of an (applied) object value, like TypedValue.ToFieldSet."""
    out = set()
    _walk_set(value, path, builtin, out)
    return out


def _walk_set(value, path, builtin, out):
    for key, child in value.items():
        child_path = path + (("f", key),)
        if isinstance(child, dict) and child and not _atomic_dict(child):
            _walk_set(child, child_path, builtin, out)
        elif isinstance(child, list):
            _walk_list(key, child, child_path, builtin, out)
        else:
            out.add(child_path)


def _walk_list(field, items, path, builtin, out):
    kind = _list_keys(field, items, builtin)
    if kind is None:
        out.add(path)
        return
    for item in items:
        item_path = path + (_item_element(kind, item),)
        out.add(item_path)
        if isinstance(item, dict):
            _walk_set(item, item_path, builtin, out)


def _all_nodes(value, path, out, field, builtin):
    """Every node of a value added or removed as a whole (itself and what it contains)."""
    if isinstance(value, dict) and not _atomic_dict(value):
        if not value or field in MAP_FIELDS or (path and path[-1][0] == "k"):
            out.add(path)
        for key, child in value.items():
            _all_nodes(child, path + (("f", key),), out, key, builtin)
    elif isinstance(value, list):
        kind = _list_keys(field, value, builtin)
        if kind is None:
            out.add(path)
            return
        for item in value:
            item_path = path + (_item_element(kind, item),)
            out.add(item_path)
            if isinstance(item, dict):
                for key, child in item.items():
                    _all_nodes(child, item_path + (("f", key),), out, key, builtin)
    else:
        out.add(path)


def compare(old, new, builtin):
    """(added, removed, modified) paths between two object values, like TypedValue.Compare."""
    added, removed, modified = set(), set(), set()
    _compare_maps(old, new, (), builtin, added, removed, modified)
    return added, removed, modified


def _compare_maps(old, new, path, builtin, added, removed, modified):
    for key in set(old) | set(new):
        child = path + (("f", key),)
        if key not in old:
            _all_nodes(new[key], child, added, key, builtin)
        elif key not in new:
            _all_nodes(old[key], child, removed, key, builtin)
        else:
            _compare_values(old[key], new[key], child, key, builtin, added, removed, modified)


def _compare_values(old, new, path, field, builtin, added, removed, modified):
    if isinstance(old, dict) and isinstance(new, dict) and not _atomic_dict(old) and not _atomic_dict(new):
        _compare_maps(old, new, path, builtin, added, removed, modified)
        return
    if isinstance(old, list) and isinstance(new, list):
        kind = _list_keys(field, old + new, builtin)
        if kind is not None:
            old_items = {_item_element(kind, i): i for i in old}
            new_items = {_item_element(kind, i): i for i in new}
            for element in set(old_items) | set(new_items):
                item_path = path + (element,)
                if element not in old_items:
                    _all_nodes(new_items[element], item_path, added, field, builtin)
                    added.add(item_path)
                elif element not in new_items:
                    _all_nodes(old_items[element], item_path, removed, field, builtin)
                    removed.add(item_path)
                elif isinstance(old_items[element], dict) and isinstance(new_items[element], dict):
                    _compare_maps(old_items[element], new_items[element], item_path, builtin, added, removed, modified)
                elif old_items[element] != new_items[element]:
                    modified.add(item_path)
            return
    if old != new:
        modified.add(path)


# ---- FieldsV1 and messages ------------------------------------------------------------------------------------
def _element_key(element):
    kind, value = element
    return "%s:%s" % (kind, value)


def to_fields_v1(paths):
    """The FieldsV1 tree of a set of paths."""
    root = {}
    members = set(paths)
    for path in sorted(paths, key=lambda p: [_element_key(e) for e in p]):
        node = root
        for element in path:
            node = node.setdefault(_element_key(element), {})
    _mark_members(root, (), members)
    return _sorted(root)


def _mark_members(node, prefix, members):
    """Add "." to the nodes that are members themselves and have children."""
    for key, child in node.items():
        path = prefix + (tuple(key.split(":", 1)),)
        _mark_members(child, path, members)
        if child and path in members:
            child["."] = {}


def _sorted(node):
    return {k: _sorted(node[k]) for k in sorted(node, key=lambda k: (k != ".", k))}


def from_fields_v1(tree, prefix=()):
    """The set of paths of a FieldsV1 tree."""
    out = set()
    for key, child in (tree or {}).items():
        if key == ".":
            out.add(prefix)
            continue
        kind, _sep, value = key.partition(":")
        path = prefix + ((kind, value),)
        if not child:
            out.add(path)
        else:
            out |= from_fields_v1(child, path)
    return out


def path_string(path):
    """fieldpath.Path.String(): .spec.containers[name="x"].image."""
    parts = []
    for kind, value in path:
        if kind == "f":
            parts.append("." + value)
        elif kind == "k":
            keys = json.loads(value)
            parts.append("[%s]" % ",".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(keys.items())))
        elif kind == "v":
            parts.append("[=%s]" % value)
        else:
            parts.append("[%s]" % value)
    return "".join(parts)


# ---- managers ----------------------------------------------------------------------------------------------------
def _identity(entry):
    return (entry.get("manager") or "", entry.get("operation") or "Update", entry.get("subresource") or "")


def _print_manager(entry):
    text = json.dumps(entry.get("manager") or "")
    if entry.get("subresource"):
        text += " with subresource %s" % json.dumps(entry["subresource"])
    if entry.get("operation") == "Update":
        text += " using %s" % entry.get("apiVersion")
    return text


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Stored objects are never mutated, so their FieldsV1 trees can be decoded once (keyed by identity, the tree kept alive
# by the cache) and equal field sets encoded once: most writes leave most managers' fields as they were.
_DECODED = {}
_ENCODED = {}
CACHE_SIZE = 20000


def _decoded(fields):
    hit = _DECODED.get(id(fields))
    if hit is not None and hit[0] is fields:
        return hit[1]
    paths = frozenset(from_fields_v1(fields))
    if len(_DECODED) > CACHE_SIZE:
        _DECODED.clear()
    _DECODED[id(fields)] = (fields, paths)
    return paths


def _encoded(paths):
    key = frozenset(paths)
    tree = _ENCODED.get(key)
    if tree is None:
        if len(_ENCODED) > CACHE_SIZE:
            _ENCODED.clear()
        tree = _ENCODED[key] = to_fields_v1(key)
    return tree


def decode(meta):
    """[(entry without fieldsV1, set of paths)] of metadata.managedFields (malformed entries are dropped)."""
    managers = []
    for entry in meta.get("managedFields") or []:
        if not isinstance(entry, dict):
            continue
        fields = entry.get("fieldsV1") if isinstance(entry.get("fieldsV1"), dict) else {}
        managers.append(({k: v for k, v in entry.items() if k != "fieldsV1"}, set(_decoded(fields))))
    return managers


def encode(managers):
    """metadata.managedFields of [(entry, set)]: empty sets dropped; Apply entries first, then by time and name. The
    FieldsV1 trees are shared between objects: never mutate them."""
    entries = []
    for entry, paths in managers:
        if not paths:
            continue
        out = dict(entry, fieldsType="FieldsV1", fieldsV1=_encoded(paths))
        entries.append(out)
    entries.sort(key=lambda e: (e.get("operation") or "", e.get("time") or "", e.get("manager") or "", e.get("apiVersion") or "",
                                e.get("subresource") or ""))
    return entries


def tracked(obj, has_status, subresource):
    """The part of an object whose fields are managed: no type/identity metadata; with a status subresource, only the
    status (status writes) or everything but the status (other writes)."""
    value = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in (value.get("metadata") or {}).items() if k not in STRIPPED_META}
    value["metadata"] = meta
    if not meta:
        del value["metadata"]
    if has_status:
        if subresource == "status":
            return {"status": value["status"]} if isinstance(value.get("status"), dict) else {}
        value.pop("status", None)
    return value


def _base_managers(current_meta, request_meta):
    """The managers to start from: those of the request when it sets managedFields (a list holding one empty entry
    resets them), else the live object's."""
    wanted = request_meta.get("managedFields") if isinstance(request_meta, dict) else None
    if isinstance(wanted, list) and wanted and wanted != (current_meta or {}).get("managedFields"):
        if len(wanted) == 1 and not wanted[0]:
            return []
        return decode(request_meta)
    return decode(current_meta or {})


def update(rtype, old, new, manager, subresource=None, builtin=True, api_version=None, via=None):
    """Set new.metadata.managedFields after an Update operation of manager (old is None on create); via: the subresource
    the request used when it is not status (e.g. scale), recorded in the entry."""
    has_status = rtype.has_status
    base = _base_managers((old or {}).get("metadata"), new.get("metadata"))
    before = tracked(old, has_status, subresource) if old is not None else {}
    after = tracked(new, has_status, subresource)
    added, removed, modified = compare(before, after, builtin)
    changed = added | modified
    subresource = subresource or via
    identity = (manager, "Update", subresource or "")
    result = []
    mine = None
    for entry, paths in base:
        if _identity(entry) == identity:
            mine = (entry, paths)
            continue
        result.append((entry, paths - changed - removed))
    if changed:
        paths = ((mine[1] if mine else set()) - removed) | changed
        entry = {"manager": manager, "operation": "Update", "apiVersion": api_version or new.get("apiVersion"), "time": _now()}
        if subresource:
            entry["subresource"] = subresource
        result.append((entry, paths))
    elif mine is not None:
        result.append((mine[0], mine[1] - removed))
    new.setdefault("metadata", {})["managedFields"] = encode(result)
    if not new["metadata"]["managedFields"]:
        del new["metadata"]["managedFields"]


def conflict_error(conflicts):
    """409 with the Status of NewConflictError (causes FieldManagerConflict)."""
    causes = [{"reason": "FieldManagerConflict", "message": "conflict with %s" % _print_manager(entry), "field": path_string(path)}
              for entry, path in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = "Apply failed with 1 conflict: conflict with %s: %s" % (_print_manager(entry), path_string(path))
    else:
        lines = []
        by_manager = {}
        for entry, path in conflicts:
            by_manager.setdefault(json.dumps(_identity(entry)), (entry, []))[1].append(path)
        for _key, (entry, paths) in sorted(by_manager.items()):
            lines.append("conflicts with %s:" % _print_manager(entry))
            lines.extend("- %s" % path_string(p) for p in paths)
        message = "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(lines))
    return ApiError(409, message, "Conflict", details={"causes": causes})


def remove_paths(obj, paths):
    """Remove the nodes at paths from obj (in place; deepest first)."""
    for path in sorted(paths, key=len, reverse=True):
        node = obj
        for element in path[:-1]:
            node = _child(node, element)
            if node is None:
                break
        if node is None:
            continue
        kind, value = path[-1]
        if kind == "f" and isinstance(node, dict):
            node.pop(value, None)
        elif kind in ("k", "v") and isinstance(node, list):
            node[:] = [item for item in node if not _is_element(item, path[-1])]


def _is_element(item, element):
    kind, value = element
    if kind == "v":
        return _value_json(item) == value
    keys = json.loads(value)
    return isinstance(item, dict) and all(item.get(k, "TCP" if k == "protocol" else None) == v for k, v in keys.items())


def _child(node, element):
    kind, value = element
    if kind == "f":
        return node.get(value) if isinstance(node, dict) else None
    if isinstance(node, list):
        return next((item for item in node if _is_element(item, element)), None)
    return None


def apply(rtype, live, merged, applied, manager, force, builtin=True, api_version=None):
    """Server-side apply: prune what manager no longer applies, detect conflicts (ApiError 409 unless force), and set
    merged.metadata.managedFields. merged is live with the applied configuration merged in; returns it."""
    subresource = None
    has_status = rtype.has_status
    base = decode(live["metadata"]) if live is not None else []
    new_set = to_set(tracked(applied, has_status, subresource), builtin)
    identity = (manager, "Apply", "")
    last = next((paths for entry, paths in base if _identity(entry) == identity), set())
    others = [(entry, paths) for entry, paths in base if _identity(entry) != identity]
    kept = set()     # what someone still owns, and every node leading to it
    for paths in [new_set] + [paths for _entry, paths in others]:
        for path in paths:
            kept.update(path[:n] for n in range(1, len(path) + 1))
    remove_paths(merged, {p for p in last - new_set if p not in kept})
    before = tracked(live, has_status, subresource) if live is not None else {}
    added, removed, modified = compare(before, tracked(merged, has_status, subresource), builtin)
    changed = added | modified
    conflicts = [(entry, path) for entry, paths in others for path in sorted(paths & changed, key=path_string)]
    if conflicts and not force:
        raise conflict_error(conflicts)
    result = [(entry, paths - changed - removed) for entry, paths in others]
    previous = next((entry for entry, _paths in base if _identity(entry) == identity), None)
    entry = {"manager": manager, "operation": "Apply", "apiVersion": api_version or merged.get("apiVersion"),
             "time": previous.get("time") if previous and not changed and not removed and last == new_set else _now()}
    result.append((entry, new_set))
    merged.setdefault("metadata", {})["managedFields"] = encode(result)
    return merged
