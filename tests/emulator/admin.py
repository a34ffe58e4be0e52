"""Admin routes of the core: /_emulator/status, /_emulator/faults (API faults, each reversible) and /_emulator/objects
(test-only bulk seeding)."""

from emulator.cluster import FAULT_DEFAULTS
from emulator.errors import ApiError


def status(cluster, _request):
    """Objects, requests, writes (create/update/patch/delete without dryRun), dry runs, exec sessions, per-verb counts, faults."""
    stats = cluster.stats
    return {"cluster": cluster.name, "port": cluster.port, "objects": cluster.store.count(),
            "resource_version": cluster.store.rv, "requests": stats["requests"], "writes": stats["writes"],
            "dry_runs": stats["dry_runs"], "execs": stats["exec"], "verbs": {v: stats[v] for v in ("post", "put", "patch", "delete")},
            "faults": {k: v for k, v in cluster.faults.items() if v != FAULT_DEFAULTS[k]}}


def get_faults(cluster, _request):
    """The current fault settings."""
    return cluster.faults


async def set_faults(cluster, request):
    """Merge fault settings: error_rate, error_code, latency_ms, reset_rate, outage, token_revoked, conflict_rate, fail_next."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "faults must be a JSON object") from exc
    if not isinstance(body, dict) or not set(body) <= set(FAULT_DEFAULTS):
        raise ApiError(400, "unknown fault setting(s); known: %s" % ", ".join(sorted(FAULT_DEFAULTS)))
    for key, value in body.items():
        if not isinstance(value, type(FAULT_DEFAULTS[key])) and not (isinstance(value, int) and isinstance(FAULT_DEFAULTS[key], float)):
            raise ApiError(400, "fault %s must be a %s" % (key, type(FAULT_DEFAULTS[key]).__name__))
    cluster.faults.update(body)
    return cluster.faults


def clear_faults(cluster, _request):
    """Back to no faults."""
    cluster.faults.clear()
    cluster.faults.update(FAULT_DEFAULTS)
    return cluster.faults


async def create_objects(cluster, request):
    """Test-only bulk seeding: {"items": [object, ...]} created in order with the same validation, defaults, watch events and
    write hooks as a POST (each object needs apiVersion and kind). Stops at the first error, naming the item; the objects
    before it stay created. Not counted as client writes in status. Answers {"created": N}."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "objects must be a JSON object") from exc
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ApiError(400, 'objects must be {"items": [object, ...]}')
    for index, obj in enumerate(items):
        if not isinstance(obj, dict):
            raise ApiError(400, "item %d is not an object (%d created)" % (index, index))
        try:
            cluster.store.create(cluster.rtype(obj.get("apiVersion", ""), obj.get("kind", "")), obj)
        except ApiError as exc:
            raise ApiError(exc.code, "item %d (%s %s): %s (%d created)" % (
                index, obj.get("kind"), (obj.get("metadata") or {}).get("name"), exc.message, index)) from exc
    return {"created": len(items)}


def clusters(cluster, _request):
    """Every cluster of this process with its port (for tooling)."""
    return {name: {"port": c.port, "index": c.index} for name, c in cluster.emulator.clusters.items()}


async def _json_body(request, what):
    try:
        return await request.json()
    except ValueError as exc:
        raise ApiError(400, "%s must be a JSON object" % what) from exc


def get_users(cluster, _request):
    """The users of this cluster: name, groups, token, rules (null = cluster-admin)."""
    return {"users": cluster.users.listing()}


async def add_user(cluster, request):
    """{"name", "rules": [{verbs, apiGroups, resources, [resourceNames], [namespaces]}] or null, ["groups"], ["token"]}:
    a new token (or, with "token", that user changed); answers the user with its token."""
    body = await _json_body(request, "a user")
    if not isinstance(body, dict) or "rules" not in body:
        raise ApiError(400, 'a user is {"name": ..., "rules": [...] or null, "groups": [...], "token": ...}')
    try:
        return cluster.users.add(body.get("name"), body["rules"], body.get("groups"), body.get("token"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc


def reset_users(cluster, _request):
    """Back to the cluster's own (cluster-admin) token only."""
    cluster.users.reset()
    return get_users(cluster, None)


def get_storage(cluster, _request):
    """The default StorageClass name (or null) and every StorageClass."""
    return {"default": cluster.storage_class, "storage_classes": [sc["metadata"]["name"] for sc in cluster.list("storage.k8s.io/v1", "StorageClass")]}


async def set_storage(cluster, request):
    """{"default": "standard" | null, "binding_mode": "WaitForFirstConsumer" | "Immediate"}: make a class the only default
    (creating it when missing), or remove every default."""
    body = await _json_body(request, "the storage settings")
    if not isinstance(body, dict) or "default" not in body:
        raise ApiError(400, 'storage settings are {"default": NAME or null, "binding_mode": "WaitForFirstConsumer"|"Immediate"}')
    mode = body.get("binding_mode") or "WaitForFirstConsumer"
    if mode not in ("WaitForFirstConsumer", "Immediate"):
        raise ApiError(400, "binding_mode must be WaitForFirstConsumer or Immediate")
    cluster.set_default_storage_class(body["default"], mode)
    return get_storage(cluster, None)


def setup(emulator):
    """Register the core admin routes."""
    emulator.add_admin_route("GET", "/_emulator/status", status)
    emulator.add_admin_route("GET", "/_emulator/faults", get_faults)
    emulator.add_admin_route("POST", "/_emulator/faults", set_faults)
    emulator.add_admin_route("DELETE", "/_emulator/faults", clear_faults)
    emulator.add_admin_route("GET", "/_emulator/clusters", clusters)
    emulator.add_admin_route("POST", "/_emulator/objects", create_objects)
    emulator.add_admin_route("GET", "/_emulator/rbac/users", get_users)
    emulator.add_admin_route("POST", "/_emulator/rbac/users", add_user)
    emulator.add_admin_route("DELETE", "/_emulator/rbac/users", reset_users)
    emulator.add_admin_route("GET", "/_emulator/storage", get_storage)
    emulator.add_admin_route("POST", "/_emulator/storage", set_storage)
