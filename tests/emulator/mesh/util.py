"""Small helpers shared by the simulated controllers: idempotent writes, conditions, pod readiness."""

import copy

from emulator.errors import ApiError
from emulator.store import now


def quietly(call, *args, **kwargs):
    """Run a cluster call; races (404 gone, 409 exists/stale) are resolved by the next reconcile."""
    try:
        return call(*args, **kwargs)
    except ApiError as exc:
        if exc.code not in (404, 409):
            raise
        return None


def served(cluster, api_version, kind):
    """Whether the cluster serves a kind (its CRD may be missing)."""
    return cluster.registry.by_kind(api_version, kind) is not None


def owner_ref(obj):
    """A controller ownerReference to obj."""
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def ensure(cluster, desired, keep_labels=True):
    """Create desired, or update the managed parts (labels/annotations merged, everything else but status replaced).
    Writes nothing when nothing changes. Returns the stored object (or None on a race)."""
    meta = desired["metadata"]
    current = cluster.get(desired["apiVersion"], desired["kind"], meta["name"], meta.get("namespace"))
    if current is None:
        return quietly(cluster.create, desired)
    merged = copy.deepcopy(current)
    for key, value in desired.items():
        if key not in ("metadata", "status"):
            merged[key] = copy.deepcopy(value)
    for key in ("labels", "annotations"):
        if key in meta:
            merged["metadata"][key] = dict((current["metadata"].get(key) or {}) if keep_labels else {}, **meta[key])
    if "ownerReferences" in meta:
        merged["metadata"]["ownerReferences"] = meta["ownerReferences"]
    _keep_restart_annotation(current, merged)
    if merged == current:
        return current
    return quietly(cluster.update, merged)


RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def _keep_restart_annotation(current, merged):
    """`kubectl rollout restart` (the pod template annotation it sets) survives the simulated operators' updates, as
    it does with the real ones (they do not own that field)."""
    old = (((current.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}
    template = (merged.get("spec") or {}).get("template")
    if RESTARTED_AT in old and isinstance(template, dict):
        meta = template.setdefault("metadata", {})
        meta["annotations"] = dict(meta.get("annotations") or {}, **{RESTARTED_AT: old[RESTARTED_AT]})


def set_status(cluster, obj, status):
    """Replace obj's status when it differs."""
    if obj.get("status") != status:
        return quietly(cluster.update_status, dict(obj, status=status))
    return obj


def condition(old_conditions, ctype, status, reason, message, generation=None):
    """A condition that keeps lastTransitionTime while its status does not change."""
    old = next((c for c in old_conditions or [] if c.get("type") == ctype), {})
    cond = {"type": ctype, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": old.get("lastTransitionTime") if old.get("status") == status and old.get("lastTransitionTime") else now()}
    if generation is not None:
        cond["observedGeneration"] = generation
    return cond


def pod_ready(pod):
    """Whether a Pod is Ready."""
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def set_pod_readiness(cluster, pod, ready, reason="", message="", container=None):
    """Make a Running Pod Ready, or not Ready with a waiting container (CrashLoopBackOff-like) and the message as
    its last termination message. Only touches Pods the builtin controller already made Running. A pod that runs a broken
    version (the mesh's broken_version fault) crash-loops whatever the caller says, every container of it."""
    override = getattr(getattr(cluster.emulator, "mesh", None), "readiness_override", None)
    broken = override(cluster, pod) if override is not None else None
    if broken:
        ready, reason, message, container = False, "CrashLoopBackOff", broken, None
    status = copy.deepcopy(pod.get("status") or {})
    if status.get("phase") != "Running":
        return pod
    stamp = now()
    flag = "True" if ready else "False"
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Ready", "ContainersReady") and cond.get("status") != flag:
            cond["status"] = flag
            cond["lastTransitionTime"] = stamp
            if ready:
                cond.pop("reason", None)
                cond.pop("message", None)
            else:
                cond["reason"] = "ContainersNotReady"
                cond["message"] = "containers with unready status: [%s]" % (container or "")
    for cstatus in status.get("containerStatuses") or []:
        if container and cstatus.get("name") != container:
            continue
        if ready:
            if not cstatus.get("ready"):
                cstatus.update(ready=True, started=True, state={"running": {"startedAt": stamp}})
        elif cstatus.get("ready") or (cstatus.get("lastState") or {}).get("terminated", {}).get("message") != message:
            cstatus.update(ready=False, started=False, restartCount=int(cstatus.get("restartCount") or 0) + 1,
                           state={"waiting": {"reason": reason or "CrashLoopBackOff", "message": "back-off 10s restarting failed container=%s pod=%s" % (
                               cstatus.get("name"), pod["metadata"]["name"])}},
                           lastState={"terminated": {"exitCode": 1, "reason": "Error", "message": message,
                                                     "startedAt": stamp, "finishedAt": stamp}})
    return set_status(cluster, pod, status)
