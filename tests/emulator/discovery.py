"""Discovery documents (/api, /apis, resource lists) and the minimal OpenAPI v3 documents, from a Registry."""

import datetime

from emulator.kinds import CREATE_ONLY

VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.1", "gitCommit": "emulated", "gitTreeState": "clean",
           "buildDate": "2026-11-29T00:00:00Z", "goVersion": "go1.24.3", "compiler": "gc", "platform": "linux/amd64"}


def version_info(version=None):
    """The /version document of a Kubernetes version ("1.29", "v1.30.2", "1.31.4-eks-1a2b3c"; default v1.33.1)."""
    if not version:
        return dict(VERSION)
    text = version if version.startswith("v") else "v" + version
    core, sep, suffix = text[1:].partition("-")
    parts = core.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:3]) or len(parts) > 3:
        raise ValueError("not a Kubernetes version: %r (expected MAJOR.MINOR[.PATCH][-SUFFIX], e.g. 1.29 or v1.30.2)" % version)
    git_version = "v%s.%s.%s%s%s" % (parts[0], parts[1], parts[2] if len(parts) > 2 else "0", sep, suffix)
    return dict(VERSION, major=parts[0], minor=parts[1] + ("+" if suffix else ""), gitVersion=git_version)


VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUBRESOURCES = {"Pod": ("log", "proxy"), "Service": ("proxy",), "Deployment": ("scale",), "StatefulSet": ("scale",)}


def _singular(rtype):
    return rtype.kind.lower()


def resource_list(registry, group, version):
    """APIResourceList of one group/version."""
    resources = []
    for rtype in sorted(registry.in_group_version(group, version), key=lambda t: t.plural):
        entry = {"name": rtype.plural, "singularName": _singular(rtype), "namespaced": rtype.namespaced,
                 "kind": rtype.kind, "verbs": ["create"] if (rtype.group, rtype.plural) in CREATE_ONLY else VERBS}
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            entry["categories"] = list(rtype.categories)
        resources.append(entry)
        subs = (("status",) if rtype.has_status else ()) + (SUBRESOURCES.get(rtype.kind, ()) if not group or group == "apps" else ())
        for sub in subs:
            resources.append({"name": "%s/%s" % (rtype.plural, sub), "singularName": "", "namespaced": rtype.namespaced,
                              "kind": rtype.kind, "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version_of_gv(group, version),
            "resources": resources}


def api_version_of_gv(group, version):
    """"group/version" or "v1"."""
    return "%s/%s" % (group, version) if group else version


def _group(name, versions):
    gvs = [{"groupVersion": api_version_of_gv(name, v), "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_versions():
    """The /api document."""
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}


def group_list(registry):
    """The /apis document."""
    groups = [_group(g, vs) for g, vs in sorted(registry.group_versions().items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry, name):
    """The /apis/<group> document, or None."""
    versions = registry.group_versions().get(name)
    if not versions or not name:
        return None
    return dict(_group(name, versions), kind="APIGroup", apiVersion="v1")


def openapi_v3_index(registry):
    """/openapi/v3: one document per group/version."""
    paths = {}
    for grp, versions in registry.group_versions().items():
        for ver in versions:
            gv = "api/" + ver if not grp else "apis/%s/%s" % (grp, ver)
            paths[gv] = {"serverRelativeURL": "/openapi/v3/%s?hash=%d" % (gv, registry.generation)}
    return {"paths": paths}


def openapi_v3_document(registry, group_name, version):
    """A minimal OpenAPI v3 document of one group/version: no schemas, but PATCH operations that declare the
    fieldValidation parameter, so kubectl and helm leave validation to the server instead of needing schemas."""
    types = registry.in_group_version(group_name, version)
    if not types:
        return None
    params = [{"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for name in ("dryRun", "fieldManager", "fieldValidation", "force")]
    paths = {}
    for rtype in types:
        prefix = "/api/" + version if not group_name else "/apis/%s/%s" % (group_name, version)
        scope = prefix + ("/namespaces/{namespace}/" if rtype.namespaced else "/") + rtype.plural
        gvk = {"group": group_name, "version": version, "kind": rtype.kind}
        operation = {"operationId": "patch" + rtype.kind, "parameters": params, "x-kubernetes-action": "patch",
                     "x-kubernetes-group-version-kind": gvk, "responses": {"200": {"description": "OK"}}}
        post = dict(operation, operationId="create" + rtype.kind, **{"x-kubernetes-action": "post"})
        paths[scope + "/{name}"] = {"patch": operation, "put": dict(operation, operationId="replace" + rtype.kind)}
        paths[scope] = {"post": post}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]}, "paths": paths,
            "components": {"schemas": {}}}


def _ready_pods(pod):
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or [])
    return "%d/%d" % (sum(1 for c in statuses if c.get("ready")), total)


# Extra human-readable columns per kind: (name, function of the object).
EXTRA_COLUMNS = {
    "Pod": (("Ready", _ready_pods), ("Status", lambda o: (o.get("status") or {}).get("phase", "Pending"))),
    "Node": (("Status", lambda o: "Ready" if any(c.get("type") == "Ready" and c.get("status") == "True" for c in (
        o.get("status") or {}).get("conditions") or []) else "NotReady"),),
    "Namespace": (("Status", lambda o: (o.get("status") or {}).get("phase", "")),),
    "Deployment": (("Ready", lambda o: "%d/%d" % ((o.get("status") or {}).get("readyReplicas", 0),
                                                  (o.get("spec") or {}).get("replicas", 1))),),
    "Service": (("Type", lambda o: (o.get("spec") or {}).get("type", "")),
                ("External-IP", lambda o: ",".join(i.get("ip") or i.get("hostname", "") for i in (
                    (o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []) or "<none>")),
}


def _age(timestamp):
    """A kubectl-style age ("42s", "5m", "3h", "2d") of an RFC 3339 timestamp."""
    try:
        created = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = max(0, int((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds()))
    if seconds < 120:
        return "%ds" % seconds
    if seconds < 7200:
        return "%dm" % (seconds // 60)
    if seconds < 172800:
        return "%dh" % (seconds // 3600)
    return "%dd" % (seconds // 86400)


def table(kind, objects, resource_version):
    """A meta.k8s.io/v1 Table (Name, a few kind-specific columns, Age) with the objects, for kubectl's output."""
    extra = EXTRA_COLUMNS.get(kind, ())
    rows = [{"cells": [o["metadata"]["name"]] + [func(o) for _name, func in extra] + [_age(o["metadata"].get("creationTimestamp"))],
             "object": o} for o in objects]
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    columns += [{"name": name, "type": "string", "format": "", "description": name, "priority": 0} for name, _func in extra]
    columns.append({"name": "Age", "type": "string", "format": "", "description": "Time since creation", "priority": 0})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns, "rows": rows}
