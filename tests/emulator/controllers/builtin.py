"""Generic controllers: namespaces (default ServiceAccount, kube-root-ca.crt), service-account token Secrets,
Deployments -> ReplicaSets (one per template revision) -> Pods, StatefulSets (with their PVCs) and DaemonSets -> Pods,
Jobs -> Pods that run to completion (TTL after finished), Pods scheduled (waiting for their PVCs), Running and Ready,
LoadBalancer Service addresses. Controllers that cannot create a Pod (admission refuses it) record a FailedCreate Event,
like the real ones, and retry when the ServiceAccount or the namespace's labels change."""

import asyncio
import base64
import hashlib
import itertools
import json
import secrets

from emulator import events
from emulator.errors import ApiError
from emulator.store import now

# TEST-NET ranges (RFC 5737): documentation addresses, never contacted.
TEST_NETS = ("192.0.2", "198.51.100", "203.0.113")
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
NOT_COPIED = ("kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS)
EXIT_CODE = "emulator.meshops/exit-code"      # Pod (template) annotation: the containers "exit" with this code
SELECTED_NODE = "volume.kubernetes.io/selected-node"
TTL_MIN_DELAY = 1.0                           # the TTL-after-finished controller is never instantaneous
_counters = {}
_ttl_scheduled = set()


def _next(cluster, what):
    counter = _counters.setdefault((cluster.name, what), itertools.count(10))
    return next(counter)


def _hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _owner_ref(obj):
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _owned_by(obj, owner):
    return any(ref.get("uid") == owner["metadata"]["uid"] and ref.get("controller")
               for ref in obj["metadata"].get("ownerReferences") or [])


def _controller_of(obj):
    return next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)


def _selector_string(selector):
    terms = ["%s=%s" % kv for kv in sorted(((selector or {}).get("matchLabels") or {}).items())]
    for expr in (selector or {}).get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), ",".join(expr.get("values") or [])
        terms.append({"In": "%s in (%s)", "NotIn": "%s notin (%s)"}.get(op, "%s") % ((key, values) if op in ("In", "NotIn") else key)
                     if op != "DoesNotExist" else "!" + key)
    return ",".join(terms)


def _quietly(call, *args, **kwargs):
    """Run a store call; races (404 gone, 409 exists/stale) are resolved by the next event."""
    try:
        return call(*args, **kwargs)
    except ApiError as exc:
        if exc.code not in (404, 409):
            raise
        return None


def _set_status(cluster, obj, status):
    if obj.get("status") != status:
        _quietly(cluster.update_status, dict(obj, status=status))


def _annotations(obj):
    return obj["metadata"].get("annotations") or {}


def _pods_of(cluster, owner):
    ns = owner["metadata"]["namespace"]
    selector = _selector_string((owner.get("spec") or {}).get("selector"))
    return [p for p in cluster.list("v1", "Pod", ns, selector or None) if _owned_by(p, owner)]


def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def _terminal(pod):
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _create_pod(cluster, owner, template, extra_labels, component, name=None, node=None, volumes=None):
    """Create a Pod of owner from its template (name, or generateName "<owner>-"); on refusal (admission: missing
    ServiceAccount, Pod Security) record Warning FailedCreate on the owner and return (None, message)."""
    meta = dict((template or {}).get("metadata") or {})
    meta["labels"] = dict(meta.get("labels") or {}, **extra_labels)
    meta.update(namespace=owner["metadata"]["namespace"], ownerReferences=[_owner_ref(owner)])
    meta.pop("name", None)
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = owner["metadata"]["name"] + "-"
    spec = json.loads(json.dumps((template or {}).get("spec") or {}))
    if node:
        spec["nodeName"] = node
    for volume in volumes or []:
        spec["volumes"] = [v for v in spec.get("volumes") or [] if v.get("name") != volume["name"]] + [volume]
    try:
        return cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}), None
    except ApiError as exc:
        if exc.code == 409:
            return None, None
        if exc.code not in (403, 422, 404):
            raise
        message = exc.message
        if owner["kind"] == "StatefulSet":
            text = "create Pod %s in StatefulSet %s failed error: %s" % (name, owner["metadata"]["name"], message)
        else:
            text = "Error creating: " + message
        events.record(cluster, owner, "Warning", "FailedCreate", text, component)
        return None, message


# ---- Pods -------------------------------------------------------------------------------------------------------
def _claims(pod):
    return [v["persistentVolumeClaim"].get("claimName") for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v, dict) and isinstance(v.get("persistentVolumeClaim"), dict)]


def _volume_gate(cluster, pod):
    """None when every PVC of the pod is bound; "" while a WaitForFirstConsumer claim is being provisioned (after the
    node was selected); else why the scheduler cannot place the pod."""
    ns = pod["metadata"]["namespace"]
    waiting = []
    for claim in _claims(pod):
        pvc = cluster.get("v1", "PersistentVolumeClaim", claim, ns)
        if pvc is None:
            return 'persistentvolumeclaim "%s" not found' % claim
        if (pvc.get("status") or {}).get("phase") == "Bound":
            continue
        class_name = (pvc.get("spec") or {}).get("storageClassName")
        storage_class = cluster.get("storage.k8s.io/v1", "StorageClass", class_name) if class_name else None
        if storage_class is None or storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
            return "pod has unbound immediate PersistentVolumeClaims"
        waiting.append(pvc)
    if not waiting:
        return None
    node = pod["spec"].get("nodeName") or next((_annotations(p).get(SELECTED_NODE) for p in waiting if _annotations(p).get(SELECTED_NODE)), None)
    if node is None:
        nodes = sorted(n["metadata"]["name"] for n in cluster.list("v1", "Node"))
        node = nodes[_next(cluster, "schedule") % len(nodes)] if nodes else None
    for pvc in waiting:
        if node and _annotations(pvc).get(SELECTED_NODE) != node:
            _quietly(cluster.patch, "v1", "PersistentVolumeClaim", pvc["metadata"]["name"],
                     {"metadata": {"annotations": {SELECTED_NODE: node}}}, ns)
    return ""


def _selected_node(cluster, pod):
    """The node the scheduler picked for the pod's WaitForFirstConsumer claims, if any."""
    for claim in _claims(pod):
        pvc = cluster.get("v1", "PersistentVolumeClaim", claim, pod["metadata"]["namespace"])
        if pvc is not None and _annotations(pvc).get(SELECTED_NODE):
            return _annotations(pvc)[SELECTED_NODE]
    return None


def _unschedulable(cluster, pod, reason):
    nodes = len(cluster.list("v1", "Node"))
    message = "0/%d nodes are available: %s. preemption: 0/%d nodes are available: %d Preemption is not helpful for scheduling." % (
        nodes, reason, nodes, nodes)
    status = dict(pod.get("status") or {}, phase="Pending", conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastProbeTime": None,
         "lastTransitionTime": ((pod.get("status") or {}).get("conditions") or [{}])[0].get("lastTransitionTime") or now()}])
    if status != pod.get("status"):
        _set_status(cluster, pod, status)
        events.record(cluster, pod, "Warning", "FailedScheduling", message, "default-scheduler")


def _runs_to_completion(pod):
    ref = _controller_of(pod)
    if ref is not None and ref.get("kind") == "Job":
        return True
    return EXIT_CODE in _annotations(pod) and pod["spec"].get("restartPolicy") != "Always"


def pod_status(cluster, pod):
    """Schedule the Pod on a Node (once its PVCs are bound) and make it Running and Ready, or, for Job Pods, run it to
    completion (exit code 0, or the annotation emulator.meshops/exit-code)."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Running", "Succeeded", "Failed") and pod["spec"].get("nodeName"):
        return
    gate = _volume_gate(cluster, pod) if _claims(pod) else None
    if gate:
        _unschedulable(cluster, pod, gate)
        return
    if gate == "":
        return
    nodes = sorted(n["metadata"]["name"] for n in cluster.list("v1", "Node"))
    node = pod["spec"].get("nodeName") or _selected_node(cluster, pod)
    if not node and nodes:
        node = nodes[_next(cluster, "schedule") % len(nodes)]
    if node and not pod["spec"].get("nodeName"):
        pod = _quietly(cluster.patch, "v1", "Pod", pod["metadata"]["name"], {"spec": {"nodeName": node}},
                       pod["metadata"]["namespace"])
        if pod is None:
            return
    stamp = now()
    seq = _next(cluster, "pod-ip")
    spec = pod.get("spec") or {}
    node_index = nodes.index(node) if node in nodes else 0
    host_ip = "172.18.%d.%d" % (cluster.index, node_index + 2)
    ip = host_ip if spec.get("hostNetwork") else "10.%d.%d.%d" % (244 - cluster.index, seq // 250 % 250, seq % 250 + 1)
    new = {"phase": "Running", "startTime": stamp, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
           "qosClass": status.get("qosClass") or "BestEffort", "podIP": ip, "podIPs": [{"ip": ip}]}
    init = [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": True, "started": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": stamp, "finishedAt": stamp}}}
            for c in spec.get("initContainers") or []]
    if init:
        new["initContainerStatuses"] = init
    if _runs_to_completion(pod):
        code = int(_annotations(pod).get(EXIT_CODE) or 0)
        new["phase"] = "Succeeded" if code == 0 else "Failed"
        why = "PodCompleted" if code == 0 else "PodFailed"
        new["conditions"] = [dict({"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": stamp},
                                  **({"reason": why} if t in ("Ready", "ContainersReady") else {}))
                             for t, s in (("PodReadyToStartContainers", "False"), ("Initialized", "True"), ("Ready", "False"),
                                          ("ContainersReady", "False"), ("PodScheduled", "True"))]
        new["containerStatuses"] = [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": False, "started": False,
                                     "restartCount": 0, "state": {"terminated": {
                                         "exitCode": code, "reason": "Completed" if code == 0 else "Error", "startedAt": stamp,
                                         "finishedAt": stamp}}} for c in spec.get("containers") or []]
    else:
        new["conditions"] = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
                             for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
        new["containerStatuses"] = [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": True, "started": True,
                                     "restartCount": 0, "state": {"running": {"startedAt": stamp}}} for c in spec.get("containers") or []]
    _set_status(cluster, pod, new)


# ---- ReplicaSets and Deployments ---------------------------------------------------------------------------------
def _nonzero(status, *keys):
    """Drop the zero-valued int fields that the API's Go types mark omitempty."""
    for key in keys:
        if not status.get(key):
            status.pop(key, None)
    return status


def reconcile_replicaset(cluster, rs):
    """Create or delete Pods to match spec.replicas; status from the Pods (ReplicaFailure while creation is refused)."""
    pods = [p for p in _pods_of(cluster, rs) if not _terminal(p)]
    want = (rs.get("spec") or {}).get("replicas", 1)
    labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    failure = None
    created = []
    for _missing in range(want - len(pods)):
        pod, failure = _create_pod(cluster, rs, rs["spec"].get("template"), labels, "replicaset-controller")
        if pod is None:
            break
        created.append(pod)
    for pod in pods[want:]:
        _quietly(cluster.delete, "v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
    pods = (pods + created)[:want]
    ready = sum(1 for p in pods if _ready(p))
    status = _nonzero({"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                       "observedGeneration": rs["metadata"].get("generation", 1)},
                      "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
    if failure:
        old = next((c for c in (rs.get("status") or {}).get("conditions") or [] if c.get("type") == "ReplicaFailure"), {})
        status["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": failure,
                                 "lastTransitionTime": old.get("lastTransitionTime") or now()}]
    _set_status(cluster, rs, status)


def _revision(obj):
    try:
        return int(_annotations(obj).get(REVISION) or 0)
    except ValueError:
        return 0


def _without_hash(template):
    template = json.loads(json.dumps(template or {}))
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop("pod-template-hash", None)
    return template


def _scaled(value, total, round_up):
    """An intstr (int or "N%") scaled to total, like intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, str) and value.endswith("%"):
        part = int(value[:-1]) * total / 100.0
        return int(-(-part // 1)) if round_up else int(part)
    return int(value or 0)


def _copied_annotations(dep):
    return {k: v for k, v in _annotations(dep).items() if k not in NOT_COPIED}


def reconcile_deployment(cluster, dep):
    """One ReplicaSet per pod-template revision: the new one scaled to spec.replicas, older ones to 0 and kept up to
    revisionHistoryLimit; revision annotations on the ReplicaSets and the Deployment (kubectl rollout history/undo)."""
    ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
    spec = dep.get("spec") or {}
    template = spec.get("template") or {}
    want = spec.get("replicas", 1)
    strategy = spec.get("strategy") or {}
    rolling = (strategy.get("rollingUpdate") or {}) if strategy.get("type") == "RollingUpdate" else {}
    surge = _scaled(rolling.get("maxSurge", 0), want, True)
    max_unavailable = _scaled(rolling.get("maxUnavailable", 0), want, False) if want else 0
    owned = [rs for rs in cluster.list("apps/v1", "ReplicaSet", ns) if _owned_by(rs, dep)]
    max_revision = max([_revision(rs) for rs in owned] or [0])
    new = next((rs for rs in owned if _without_hash(rs["spec"].get("template")) == template), None)
    if new is None and spec.get("paused"):
        new = max(owned, key=_revision) if owned else None
    if new is None:
        pth = _hash(template)
        rs_template = dict(template, metadata=dict(template.get("metadata") or {}))
        rs_template["metadata"]["labels"] = dict(rs_template["metadata"].get("labels") or {}, **{"pod-template-hash": pth})
        selector = dict(spec.get("selector") or {})
        selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{"pod-template-hash": pth})
        new = _quietly(cluster.create, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "%s-%s" % (name, pth), "namespace": ns, "labels": rs_template["metadata"]["labels"],
                         "annotations": dict(_copied_annotations(dep), **{
                             REVISION: str(max_revision + 1), DESIRED_REPLICAS: str(want), MAX_REPLICAS: str(want + surge)}),
                         "ownerReferences": [_owner_ref(dep)]},
            "spec": {"replicas": want, "selector": selector, "template": rs_template}})
        if new is None:
            return
    else:
        annotations = dict(_annotations(new))
        wanted = dict(annotations, **_copied_annotations(dep))
        wanted.update({DESIRED_REPLICAS: str(want), MAX_REPLICAS: str(want + surge)})
        if _revision(new) < max_revision:     # a rollback (or a template back to an older one): the next revision
            history = [h for h in (annotations.get(REVISION_HISTORY) or "").split(",") if h] + [str(_revision(new))]
            wanted.update({REVISION: str(max_revision + 1), REVISION_HISTORY: ",".join(history)})
        if wanted != annotations or new["spec"].get("replicas") != want:
            new = _quietly(cluster.patch, "apps/v1", "ReplicaSet", new["metadata"]["name"],
                           {"metadata": {"annotations": wanted}, "spec": {"replicas": want}}, ns)
            if new is None:
                return
    old = [rs for rs in owned if rs["metadata"]["uid"] != new["metadata"]["uid"]]
    for rs in old:
        if rs["spec"].get("replicas"):
            _quietly(cluster.patch, "apps/v1", "ReplicaSet", rs["metadata"]["name"], {"spec": {"replicas": 0}}, ns)
    limit = spec.get("revisionHistoryLimit", 10)
    retired = sorted((rs for rs in old if not (rs.get("status") or {}).get("replicas")), key=_revision)
    for rs in retired[:max(0, len(retired) - limit)]:
        _quietly(cluster.delete, "apps/v1", "ReplicaSet", rs["metadata"]["name"], ns)
    if _annotations(dep).get(REVISION) != _annotations(new).get(REVISION):
        dep = _quietly(cluster.patch, "apps/v1", "Deployment", name, {"metadata": {"annotations": {REVISION: _annotations(new)[REVISION]}}}, ns)
        if dep is None:
            return
    deployment_status(cluster, dep, new, old, want, max_unavailable)


def deployment_status(cluster, dep, new, old, want, max_unavailable):
    """Status of a Deployment from its ReplicaSets; zero-valued counts left out, as the API serialises them."""
    new_status = new.get("status") or {}
    all_status = [new_status] + [rs.get("status") or {} for rs in old]
    replicas = sum(s.get("replicas", 0) for s in all_status)
    ready = sum(s.get("readyReplicas", 0) for s in all_status)
    available = sum(s.get("availableReplicas", 0) for s in all_status)
    updated = new_status.get("replicas", 0)
    stamp = now()
    old_conditions = {c["type"]: c for c in (dep.get("status") or {}).get("conditions") or []}

    def condition(ctype, status, reason, message):
        old_cond = old_conditions.get(ctype) or {}
        same = old_cond.get("status") == status
        return {"type": ctype, "status": status,
                "lastUpdateTime": old_cond.get("lastUpdateTime", stamp) if same and old_cond.get("reason") == reason else stamp,
                "lastTransitionTime": old_cond.get("lastTransitionTime", stamp) if same else stamp,
                "reason": reason, "message": message}
    is_available = available >= want - max_unavailable
    complete = updated == want and replicas == want and available >= want
    rs_name = new["metadata"]["name"]
    conditions = [
        condition("Available", "True" if is_available else "False",
                  "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
                  "Deployment has minimum availability." if is_available else "Deployment does not have minimum availability."),
        condition("Progressing", "True", "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                  'ReplicaSet "%s" has successfully progressed.' % rs_name if complete else 'ReplicaSet "%s" is progressing.' % rs_name),
    ]
    failure = next((c for c in new_status.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None)
    if failure is not None:
        conditions.append(condition("ReplicaFailure", "True", "FailedCreate", failure.get("message", "")))
    status = _nonzero({"observedGeneration": dep["metadata"].get("generation", 1), "replicas": replicas, "updatedReplicas": updated,
                       "readyReplicas": ready, "availableReplicas": available, "unavailableReplicas": max(0, want - available)},
                      "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")
    status["conditions"] = conditions
    _set_status(cluster, dep, status)


# ---- StatefulSets and DaemonSets --------------------------------------------------------------------------------
def _ensure_claims(cluster, sts, ordinal):
    """The PVCs <template>-<statefulset>-<ordinal> of the volumeClaimTemplates; returns the pod volumes that use them."""
    ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
    spec = sts["spec"]
    volumes = []
    for template in spec.get("volumeClaimTemplates") or []:
        tmeta = template.get("metadata") or {}
        claim = "%s-%s-%d" % (tmeta.get("name"), name, ordinal)
        if cluster.get("v1", "PersistentVolumeClaim", claim, ns) is None:
            meta = {"name": claim, "namespace": ns,
                    "labels": dict(tmeta.get("labels") or {}, **((spec.get("selector") or {}).get("matchLabels") or {}))}
            if tmeta.get("annotations"):
                meta["annotations"] = dict(tmeta["annotations"])
            if (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted") == "Delete":
                meta["ownerReferences"] = [_owner_ref(sts)]
            try:
                cluster.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": dict(template.get("spec") or {})})
            except ApiError as exc:
                if exc.code != 409:
                    events.record(cluster, sts, "Warning", "FailedCreate", "create Claim %s for Pod %s-%d in StatefulSet %s failed error: %s" % (
                        claim, name, ordinal, name, exc.message), "statefulset-controller")
        volumes.append({"name": tmeta.get("name"), "persistentVolumeClaim": {"claimName": claim}})
    return volumes


def reconcile_statefulset(cluster, sts):
    """Pods NAME-0..N-1 with their PVCs (OrderedReady: each once the previous one is Ready); Pods of an older template
    are replaced (RollingUpdate: ordinals >= partition; OnDelete: never)."""
    ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
    spec = sts.get("spec") or {}
    want = spec.get("replicas", 1)
    revision = "%s-%s" % (name, _hash(spec.get("template") or {}))
    strategy = spec.get("updateStrategy") or {}
    partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
    ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    pods = {p["metadata"]["name"]: p for p in _pods_of(cluster, sts)}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    blocked = False
    for i in range(want):
        pod_name = "%s-%d" % (name, i)
        pod = pods.pop(pod_name, None)
        if pod is not None and pod["metadata"]["labels"].get("controller-revision-hash") != revision \
                and strategy.get("type", "RollingUpdate") == "RollingUpdate" and i >= partition:
            _quietly(cluster.delete, "v1", "Pod", pod_name, ns)
            pod = None
        if pod is None and not blocked:
            volumes = _ensure_claims(cluster, sts, i)
            pod, _failure = _create_pod(cluster, sts, spec.get("template"), dict(
                labels, **{"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name,
                           "apps.kubernetes.io/pod-index": str(i)}), "statefulset-controller", name=pod_name, volumes=volumes)
        if ordered and (pod is None or not _ready(pod)):
            blocked = True
    for pod_name in pods:
        _quietly(cluster.delete, "v1", "Pod", pod_name, ns)
    current = [p for p in _pods_of(cluster, sts) if not _terminal(p)]
    ready = sum(1 for p in current if _ready(p))
    updated = sum(1 for p in current if p["metadata"]["labels"].get("controller-revision-hash") == revision)
    old = sts.get("status") or {}
    current_revision = revision if updated == len(current) == want else (old.get("currentRevision") or revision)
    at_current = sum(1 for p in current if p["metadata"]["labels"].get("controller-revision-hash") == current_revision)
    status = _nonzero({"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(current),
                       "readyReplicas": ready, "currentReplicas": at_current, "updatedReplicas": updated},
                      "observedGeneration", "readyReplicas", "currentReplicas", "updatedReplicas")
    status.update(availableReplicas=ready, currentRevision=current_revision, updateRevision=revision, collisionCount=0)
    _set_status(cluster, sts, status)


def _node_matches(node, selector):
    labels = node["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def reconcile_daemonset(cluster, ds):
    """One Pod per matching Node; Pods of an older template are replaced."""
    ns = ds["metadata"]["namespace"]
    template = (ds.get("spec") or {}).get("template") or {}
    revision = _hash(template)
    node_selector = (template.get("spec") or {}).get("nodeSelector")
    nodes = [n["metadata"]["name"] for n in cluster.list("v1", "Node") if _node_matches(n, node_selector)]
    labels = (template.get("metadata") or {}).get("labels") or {}
    by_node = {}
    for pod in _pods_of(cluster, ds):
        node = pod["spec"].get("nodeName")
        if node not in nodes or node in by_node or pod["metadata"]["labels"].get("controller-revision-hash") != revision:
            _quietly(cluster.delete, "v1", "Pod", pod["metadata"]["name"], ns)
        else:
            by_node[node] = pod
    for node in nodes:
        if node not in by_node:
            pod, _failure = _create_pod(cluster, ds, template, dict(labels, **{
                "controller-revision-hash": revision, "pod-template-generation": str(ds["metadata"].get("generation", 1))}),
                "daemonset-controller", node=node)
            if pod is None:
                break
    current = _pods_of(cluster, ds)
    ready = sum(1 for p in current if _ready(p))
    status = {"observedGeneration": ds["metadata"].get("generation", 1), "desiredNumberScheduled": len(nodes),
              "currentNumberScheduled": len(current), "updatedNumberScheduled": len(current), "numberReady": ready,
              "numberAvailable": ready, "numberMisscheduled": 0, "numberUnavailable": len(nodes) - ready}
    _set_status(cluster, ds, _nonzero(status, "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable"))


# ---- Jobs ---------------------------------------------------------------------------------------------------------
def _finished(job):
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def reconcile_job(cluster, job):
    """Pods (generateName "<job>-") until spec.completions succeeded (Complete) or more than backoffLimit failed (Failed)."""
    if _finished(job):
        _schedule_ttl(cluster, job)
        return
    spec, old = job.get("spec") or {}, job.get("status") or {}
    if spec.get("suspend"):
        return
    pods = _pods_of(cluster, job)
    succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
    failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
    active = [p for p in pods if not _terminal(p)]
    completions, parallelism = spec.get("completions"), spec.get("parallelism", 1)
    stamp = now()
    status = {"startTime": old.get("startTime") or stamp, "terminating": 0, "uncountedTerminatedPods": {}}
    done = succeeded >= completions if completions is not None else (succeeded > 0 and not active)
    if done or failed > spec.get("backoffLimit", 6):
        if done:
            reason, message, types = "CompletionsReached", "Reached expected number of succeeded pods", ("SuccessCriteriaMet", "Complete")
            status["completionTime"] = stamp
        else:
            reason, message, types = "BackoffLimitExceeded", "Job has reached the specified backoff limit", ("FailureTarget", "Failed")
        status["conditions"] = [{"type": t, "status": "True", "reason": reason, "message": message, "lastProbeTime": stamp,
                                 "lastTransitionTime": stamp} for t in types]
        for pod in active:
            _quietly(cluster.delete, "v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
        active = []
    else:
        remaining = (completions - succeeded) if completions is not None else parallelism
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        for _missing in range(max(0, min(parallelism, remaining) - len(active))):
            pod, _failure = _create_pod(cluster, job, spec.get("template"), labels, "job-controller")
            if pod is None:
                break
            active.append(pod)
    status.update(active=len(active), succeeded=succeeded, failed=failed)
    status["ready"] = sum(1 for p in active if _ready(p))
    _set_status(cluster, job, _nonzero(status, "active", "succeeded", "failed"))
    if "conditions" in status:
        _schedule_ttl(cluster, dict(job, status=status))


def _schedule_ttl(cluster, job):
    """spec.ttlSecondsAfterFinished: delete the finished Job (and its Pods) that many seconds after it finished."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    key = (cluster.name, job["metadata"]["uid"])
    if ttl is None or key in _ttl_scheduled:
        return
    _ttl_scheduled.add(key)
    ns, name, uid = job["metadata"]["namespace"], job["metadata"]["name"], job["metadata"]["uid"]

    def expire():
        _ttl_scheduled.discard(key)
        current = cluster.get("batch/v1", "Job", name, ns)
        if current is not None and current["metadata"]["uid"] == uid:
            _quietly(cluster.delete, "batch/v1", "Job", name, ns)
    asyncio.get_event_loop().call_later(max(float(ttl), TTL_MIN_DELAY), expire)


# ---- Services, Namespaces, ServiceAccounts --------------------------------------------------------------------------
def load_balancer(cluster, svc):
    """LoadBalancer Services get one TEST-NET address (stable); other types an empty status."""
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")
    if spec.get("type") != "LoadBalancer":
        if ingress:
            _set_status(cluster, svc, {"loadBalancer": {}})
        return
    if ingress:
        return
    seq = _next(cluster, "lb")
    net = TEST_NETS[cluster.index % len(TEST_NETS)]
    host = (cluster.index // len(TEST_NETS)) * 60 + seq
    _set_status(cluster, svc, {"loadBalancer": {"ingress": [{"ip": "%s.%d" % (net, host % 254 + 1), "ipMode": "VIP"}]}})


def namespace_defaults(cluster, ns):
    """Every Namespace gets the default ServiceAccount and the kube-root-ca.crt ConfigMap."""
    name = ns["metadata"]["name"]
    if cluster.get("v1", "ServiceAccount", "default", name) is None:
        _quietly(cluster.create, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}})
    if cluster.get("v1", "ConfigMap", "kube-root-ca.crt", name) is None:
        _quietly(cluster.create, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "kube-root-ca.crt", "namespace": name, "annotations": {
                "kubernetes.io/description": "Contains a CA bundle for the emulated API server."}},
            "data": {"ca.crt": cluster.emulator.ca_pem or ""}})


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_token(cluster, secret):
    """A kubernetes.io/service-account-token Secret of an existing ServiceAccount gets token, ca.crt and namespace
    (the token is JWT-shaped, signed by nothing: the emulator does not accept it as a credential)."""
    if secret.get("type") != "kubernetes.io/service-account-token" or "token" in (secret.get("data") or {}):
        return
    ns = secret["metadata"]["namespace"]
    name = _annotations(secret).get("kubernetes.io/service-account.name")
    account = cluster.get("v1", "ServiceAccount", name, ns) if name else None
    if account is None:
        return
    claims = {"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": ns,
              "kubernetes.io/serviceaccount/secret.name": secret["metadata"]["name"],
              "kubernetes.io/serviceaccount/service-account.name": name,
              "kubernetes.io/serviceaccount/service-account.uid": account["metadata"]["uid"],
              "sub": "system:serviceaccount:%s:%s" % (ns, name)}
    token = ".".join([_b64url(json.dumps({"alg": "RS256", "kid": "emulator"}).encode()), _b64url(json.dumps(claims).encode()),
                      _b64url(secrets.token_bytes(32))])
    data = dict(secret.get("data") or {}, **{
        "token": base64.b64encode(token.encode()).decode(), "namespace": base64.b64encode(ns.encode()).decode(),
        "ca.crt": base64.b64encode((cluster.emulator.ca_pem or "").encode()).decode()})
    _quietly(cluster.patch, "v1", "Secret", secret["metadata"]["name"], {
        "metadata": {"annotations": {"kubernetes.io/service-account.uid": account["metadata"]["uid"]}}, "data": data}, ns)


def retry_namespace(cluster, namespace):
    """Reconcile the workloads of a namespace again (a ServiceAccount appeared, Pod Security labels changed)."""
    for api_version, kind in (("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("batch/v1", "Job")):
        group = api_version.partition("/")[0]
        for obj in cluster.list(api_version, kind, namespace):
            RECONCILERS[(group, kind)](cluster, obj)


# ---- wiring -----------------------------------------------------------------------------------------------------
RECONCILERS = {("apps", "Deployment"): reconcile_deployment, ("apps", "ReplicaSet"): reconcile_replicaset,
               ("apps", "StatefulSet"): reconcile_statefulset, ("apps", "DaemonSet"): reconcile_daemonset,
               ("batch", "Job"): reconcile_job}


def _reconcile_owner(cluster, obj):
    ref = _controller_of(obj)
    if ref is None:
        return
    group = ref.get("apiVersion", "").partition("/")[0] if "/" in ref.get("apiVersion", "") else ""
    reconciler = RECONCILERS.get((group, ref.get("kind")))
    if reconciler is not None:
        owner = cluster.get(ref["apiVersion"], ref["kind"], ref["name"], obj["metadata"].get("namespace"))
        if owner is not None and owner["metadata"]["uid"] == ref.get("uid"):
            reconciler(cluster, owner)


def on_workload(cluster, event):
    """Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs: reconcile the object, then its owner."""
    if event.type != "DELETED":
        group = event.api_version.partition("/")[0]
        current = cluster.get(event.api_version, event.kind, event.name, event.namespace)
        if current is not None:
            RECONCILERS[(group, event.kind)](cluster, current)
    _reconcile_owner(cluster, event.object)


def on_pod(cluster, event):
    """Pods become Running and Ready (or run to completion); their owner is reconciled."""
    if event.type != "DELETED":
        current = cluster.get("v1", "Pod", event.name, event.namespace)
        if current is not None:
            pod_status(cluster, current)
    _reconcile_owner(cluster, event.object)


def on_node(cluster, event):
    """A Node change reschedules every DaemonSet."""
    del event
    for ds in cluster.list("apps/v1", "DaemonSet"):
        reconcile_daemonset(cluster, ds)


def _security_labels(obj):
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return {k: v for k, v in labels.items() if k.startswith("pod-security.kubernetes.io/")}


def on_namespace(cluster, event):
    """Defaults of a new Namespace; a change of its Pod Security labels lets refused Pods be created again."""
    if event.type == "DELETED":
        return
    current = cluster.get("v1", "Namespace", event.name)
    if current is None:
        return
    namespace_defaults(cluster, current)
    if event.type == "MODIFIED" and _security_labels(event.object) != _security_labels(event.old_object):
        retry_namespace(cluster, event.name)


def on_service_account(cluster, event):
    """A new ServiceAccount: its token Secrets get their token; workloads refused for want of it retry."""
    if event.type != "ADDED":
        return
    for secret in cluster.list("v1", "Secret", event.namespace):
        if _annotations(secret).get("kubernetes.io/service-account.name") == event.name:
            service_account_token(cluster, secret)
    retry_namespace(cluster, event.namespace)


def _on_current(func, api_version, kind):
    def handler(cluster, event):
        if event.type != "DELETED":
            current = cluster.get(api_version, kind, event.name, event.namespace)
            if current is not None:
                func(cluster, current)
    handler.__name__ = func.__name__
    return handler


def setup(emulator):
    """Register the generic controllers."""
    emulator.on_write(on_workload, kinds=[("apps/v1", k) for k in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")]
                      + [("batch/v1", "Job")])
    emulator.on_write(on_pod, kinds=[("v1", "Pod")])
    emulator.on_write(on_node, kinds=[("v1", "Node")])
    emulator.on_write(_on_current(load_balancer, "v1", "Service"), kinds=[("v1", "Service")])
    emulator.on_write(on_namespace, kinds=[("v1", "Namespace")])
    emulator.on_write(on_service_account, kinds=[("v1", "ServiceAccount")])
    emulator.on_write(_on_current(service_account_token, "v1", "Secret"), kinds=[("v1", "Secret")])
