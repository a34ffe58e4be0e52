# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift: the objects a converge would change, from the check-mode results of the install roles. PRIVATE to the collection.

``drifted_objects`` is the one adapter between what the install roles return and the drift list of the mesh watch: it turns
task results into ``[{cluster, kind, namespace, name, action, fields}]``. It understands

- ``kubernetes.core.k8s`` results, one object (``result``, ``method``, ``diff``) or several (``result.results``), run in check
  mode with diff: ``fields`` are the paths that differ between the object as stored and as the converge would write it
  (``metadata.labels["topology.istio.io/network"]``), from ``diff.before`` and ``diff.after``; server-managed fields
  (``status``, ``metadata.resourceVersion``, ``generation``, ``managedFields``) are left out;
- ``kubernetes.core.helm`` results: a release the converge would install or upgrade (``fields`` empty: Helm's check mode
  does not say which values changed);
- ``meshops.ambient_spire.k8s_apply`` results (``changes``, in check mode what a converge would change): each change as it
  is, its ``fields`` the paths (or, for a Helm release, the reasons) the module found;
- skipped and unchanged results: nothing.

Values never leave it, only paths: a Secret's diff holds its data.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

IGNORED_METADATA = frozenset(("resourceVersion", "generation", "managedFields", "creationTimestamp", "uid", "selfLink"))
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _path(parts):
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += "[%d]" % part
        elif _PLAIN_KEY.match(part):
            out += ("." if out else "") + part
        else:
            out += '["%s"]' % part.replace('"', '\\"')
    return out


def _leaves(node, prefix, out):
    """{path tuple: leaf value} of a nested dict (lists and empty dicts are leaves)."""
    if isinstance(node, dict) and node:
        for key in node:
            _leaves(node[key], prefix + (str(key),), out)
    else:
        out[prefix] = node
    return out


def _ignored(parts):
    if not parts:
        return True
    if parts[0] == "status":
        return True
    return parts[0] == "metadata" and len(parts) > 1 and parts[1] in IGNORED_METADATA


def diff_fields(diff):
    """The paths of the leaves that differ between ``before`` and ``after`` of a kubernetes.core diff, server fields left out."""
    sides = []
    for side in ("before", "after"):
        value = (diff or {}).get(side)
        sides.append(_leaves(value, (), {}) if isinstance(value, dict) else {})
    before, after = sides
    missing = object()
    changed = [parts for parts in set(before) | set(after) if before.get(parts, missing) != after.get(parts, missing)]
    return sorted(_path(list(parts)) for parts in changed if not _ignored(list(parts)))


def _object_entry(cluster, item):
    """One changed object of a kubernetes.core.k8s result item, or None when nothing would change."""
    if not isinstance(item, dict) or not item.get("changed"):
        return None
    obj = item.get("result") if isinstance(item.get("result"), dict) else {}
    meta = obj.get("metadata") or {}
    diff = item.get("diff") if isinstance(item.get("diff"), dict) else {}
    if not meta and diff:
        meta = ((diff.get("after") or diff.get("before") or {}).get("metadata")) or {}
    method = item.get("method") or "update"
    action = {"create": "create", "delete": "delete"}.get(method, "update")
    fields = diff_fields(diff) if action == "update" else []
    if action == "update" and diff and not fields:
        return None
    return {"cluster": cluster, "kind": obj.get("kind") or "?", "namespace": meta.get("namespace") or "", "name": meta.get("name") or "?",
            "action": action, "fields": fields}


def _helm_entry(cluster, result):
    """A release a kubernetes.core.helm run would install or upgrade (its check mode puts the release as it is under
    status.values.declared, nothing about the new chart or values)."""
    status = result.get("status") if isinstance(result.get("status"), dict) else {}
    release = ((status.get("values") or {}).get("declared")) if isinstance(status.get("values"), dict) else None
    release = release if isinstance(release, dict) and release.get("name") else status
    args = ((result.get("invocation") or {}).get("module_args")) or {}
    name = release.get("name") or args.get("release_name") or args.get("name") or "?"
    namespace = release.get("namespace") or args.get("release_namespace") or args.get("namespace") or ""
    action = "update" if release.get("name") else "create"
    return {"cluster": cluster, "kind": "HelmRelease", "namespace": namespace, "name": name, "action": action, "fields": []}


# k8s_apply's actions, as the drift list names them
_APPLY_ACTIONS = {"create": "create", "install": "create", "delete": "delete"}
_SINGLE_QUOTED_KEY = re.compile(r"\['((?:[^'\\]|\\.)*)'\]")


def _apply_field(field):
    """A k8s_apply field path (labels['a/b']) in the drift list's notation (labels["a/b"])."""
    return _SINGLE_QUOTED_KEY.sub(lambda match: '["%s"]' % match.group(1).replace('"', '\\"'), str(field))


def _apply_entries(cluster, result):
    """The changes of a k8s_apply result."""
    return [{"cluster": cluster, "kind": change.get("kind") or "?", "namespace": change.get("namespace") or "", "name": change.get("name") or "?",
             "action": _APPLY_ACTIONS.get(change.get("action"), "update"), "fields": [_apply_field(f) for f in change.get("fields") or []]}
            for change in result["changes"] if isinstance(change, dict)]


def is_apply_result(result):
    """A k8s_apply result (its changes, and the requests it sent)."""
    return isinstance(result, dict) and isinstance(result.get("changes"), list) and isinstance(result.get("api"), dict)


def is_helm_result(result):
    """A kubernetes.core.helm result (it has the helm command line, and no k8s object)."""
    return isinstance(result, dict) and "command" in result and "result" not in result


def drifted_objects(results, cluster):
    """[{cluster, kind, namespace, name, action, fields}] of the task results given (registered results, any order).

    Objects are listed once (the last result that names them wins) and sorted by kind, namespace and name.
    """
    found = {}
    for result in results or []:
        if not isinstance(result, dict) or result.get("skipped") or not result.get("changed"):
            continue
        entries = []
        if is_apply_result(result):
            entries.extend(_apply_entries(cluster, result))
        elif is_helm_result(result):
            entries.append(_helm_entry(cluster, result))
        elif isinstance(result.get("result"), dict) and isinstance(result["result"].get("results"), list):
            entries.extend(_object_entry(cluster, item) for item in result["result"]["results"])
        else:
            entries.append(_object_entry(cluster, result))
        for entry in entries:
            if entry:
                found[(entry["kind"], entry["namespace"], entry["name"])] = entry
    return [found[key] for key in sorted(found)]


def object_key(entry):
    return "%s/%s/%s/%s" % (entry.get("cluster"), entry.get("kind"), entry.get("namespace") or "", entry.get("name"))


def object_label(entry):
    where = "%s/%s" % (entry["namespace"], entry["name"]) if entry.get("namespace") else entry.get("name")
    fields = ": %s" % ", ".join(entry["fields"]) if entry.get("fields") else ""
    return "%s %s %s (%s)%s" % (entry.get("cluster"), entry.get("kind"), where, entry.get("action"), fields)
