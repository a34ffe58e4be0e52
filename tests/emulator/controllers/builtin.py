"""Generic controllers: namespaces (default ServiceAccount, kube-root-ca.crt), Deployments -> ReplicaSets -> Pods,
StatefulSets and DaemonSets -> Pods, Pods Running and Ready, Jobs complete, LoadBalancer Service addresses."""

import hashlib
import itertools
import json

from emulator.errors import ApiError
from emulator.store import now

# TEST-NET ranges (RFC 5737): documentation addresses, never contacted.
TEST_NETS = ("192.0.2", "198.51.100", "203.0.113")
_counters = {}


def _next(cluster, what):
    counter = _counters.setdefault((cluster.name, what), itertools.count(10))
    return next(counter)


def _hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _owner_ref(obj):
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _owned_by(obj, owner):
    return any(ref.get("uid") == owner["metadata"]["uid"] for ref in obj["metadata"].get("ownerReferences") or [])


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


def _pods_of(cluster, owner):
    ns = owner["metadata"]["namespace"]
    selector = _selector_string((owner.get("spec") or {}).get("selector"))
    return [p for p in cluster.list("v1", "Pod", ns, selector or None) if _owned_by(p, owner)]


def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def _new_pod(cluster, owner, name, template, extra_labels, node=None):
    meta = dict((template or {}).get("metadata") or {})
    meta["labels"] = dict(meta.get("labels") or {}, **extra_labels)
    meta.update(name=name, namespace=owner["metadata"]["namespace"], ownerReferences=[_owner_ref(owner)])
    spec = dict((template or {}).get("spec") or {})
    if node:
        spec["nodeName"] = node
    return _quietly(cluster.create, {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})


def _suffix(cluster):
    return hashlib.sha1(str(_next(cluster, "pod-suffix")).encode() + cluster.name.encode()).hexdigest()[:5]


# ---- Pods -------------------------------------------------------------------------------------------------------
def pod_status(cluster, pod):
    """Schedule the Pod on a Node and make it Running and Ready."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Running", "Succeeded") and pod["spec"].get("nodeName"):
        return
    nodes = sorted(n["metadata"]["name"] for n in cluster.list("v1", "Node"))
    node = pod["spec"].get("nodeName")
    if not node and nodes:
        node = nodes[_next(cluster, "schedule") % len(nodes)]
        pod = _quietly(cluster.patch, "v1", "Pod", pod["metadata"]["name"], {"spec": {"nodeName": node}},
                       pod["metadata"]["namespace"])
        if pod is None:
            return
    stamp = now()
    seq = _next(cluster, "pod-ip")
    conditions = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
                  for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
    containers = [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": True, "started": True,
                   "restartCount": 0, "state": {"running": {"startedAt": stamp}}}
                  for c in (pod.get("spec") or {}).get("containers") or []]
    node_index = nodes.index(node) if node in nodes else 0
    _set_status(cluster, pod, {
        "phase": "Running", "conditions": conditions, "containerStatuses": containers, "startTime": stamp,
        "hostIP": "172.18.%d.%d" % (cluster.index, node_index + 2), "qosClass": "BestEffort",
        "podIP": "10.%d.%d.%d" % (244 - cluster.index, seq // 250 % 250, seq % 250 + 1),
        "podIPs": [{"ip": "10.%d.%d.%d" % (244 - cluster.index, seq // 250 % 250, seq % 250 + 1)}]})


# ---- ReplicaSets and Deployments ---------------------------------------------------------------------------------
def reconcile_replicaset(cluster, rs):
    """Create or delete Pods to match spec.replicas; status from the Pods."""
    pods = _pods_of(cluster, rs)
    want = (rs.get("spec") or {}).get("replicas", 1)
    labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    for _missing in range(want - len(pods)):
        _new_pod(cluster, rs, "%s-%s" % (rs["metadata"]["name"], _suffix(cluster)), rs["spec"].get("template"), labels)
    for pod in pods[want:]:
        _quietly(cluster.delete, "v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
    pods = pods[:want]
    ready = sum(1 for p in pods if _ready(p))
    _set_status(cluster, rs, {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                              "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)})


def reconcile_deployment(cluster, dep):
    """One ReplicaSet per pod template (older ones deleted); status and conditions from the current one."""
    ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
    spec = dep.get("spec") or {}
    template = spec.get("template") or {}
    pth = _hash(template)
    want = spec.get("replicas", 1)
    rs_name = "%s-%s" % (name, pth)
    owned = [rs for rs in cluster.list("apps/v1", "ReplicaSet", ns) if _owned_by(rs, dep)]
    for old in owned:
        if old["metadata"]["name"] != rs_name:
            _quietly(cluster.delete, "apps/v1", "ReplicaSet", old["metadata"]["name"], ns)
    current = next((rs for rs in owned if rs["metadata"]["name"] == rs_name), None)
    rs_template = dict(template, metadata=dict(template.get("metadata") or {}))
    rs_template["metadata"]["labels"] = dict(rs_template["metadata"].get("labels") or {}, **{"pod-template-hash": pth})
    selector = dict(spec.get("selector") or {})
    selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{"pod-template-hash": pth})
    if current is None:
        current = _quietly(cluster.create, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": ns, "labels": rs_template["metadata"]["labels"],
                         "annotations": {"deployment.kubernetes.io/revision": "1"}, "ownerReferences": [_owner_ref(dep)]},
            "spec": {"replicas": want, "selector": selector, "template": rs_template}})
    elif current["spec"].get("replicas") != want:
        current = _quietly(cluster.patch, "apps/v1", "ReplicaSet", rs_name, {"spec": {"replicas": want}}, ns)
    if current is None:
        return
    rs_status = current.get("status") or {}
    ready = rs_status.get("readyReplicas", 0)
    available = ready >= want
    stamp = now()
    old_conditions = {c["type"]: c for c in (dep.get("status") or {}).get("conditions") or []}

    def condition(ctype, status, reason, message):
        old = old_conditions.get(ctype) or {}
        same = old.get("status") == status
        return {"type": ctype, "status": status, "lastUpdateTime": old.get("lastUpdateTime", stamp) if same else stamp,
                "lastTransitionTime": old.get("lastTransitionTime", stamp) if same else stamp,
                "reason": reason, "message": message}
    conditions = [
        condition("Available", "True" if available else "False",
                  "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                  "Deployment has minimum availability." if available else "Deployment does not have minimum availability."),
        condition("Progressing", "True", "NewReplicaSetAvailable" if available else "ReplicaSetUpdated",
                  'ReplicaSet "%s" has %s progressing.' % (rs_name, "successfully" if available else "been")),
    ]
    status = {"observedGeneration": dep["metadata"].get("generation", 1), "replicas": rs_status.get("replicas", 0),
              "updatedReplicas": rs_status.get("replicas", 0), "readyReplicas": ready, "availableReplicas": ready,
              "conditions": conditions}
    if want - ready > 0:
        status["unavailableReplicas"] = want - ready
    if not ready:
        del status["readyReplicas"], status["availableReplicas"]
    _set_status(cluster, dep, status)


# ---- StatefulSets and DaemonSets --------------------------------------------------------------------------------
def reconcile_statefulset(cluster, sts):
    """Pods NAME-0..N-1; Pods of an older template are replaced."""
    ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
    spec = sts.get("spec") or {}
    want = spec.get("replicas", 1)
    revision = "%s-%s" % (name, _hash(spec.get("template") or {}))
    pods = {p["metadata"]["name"]: p for p in _pods_of(cluster, sts)}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    for i in range(want):
        pod_name = "%s-%d" % (name, i)
        pod = pods.pop(pod_name, None)
        if pod is not None and pod["metadata"]["labels"].get("controller-revision-hash") != revision:
            _quietly(cluster.delete, "v1", "Pod", pod_name, ns)
            pod = None
        if pod is None:
            _new_pod(cluster, sts, pod_name, spec.get("template"), dict(
                labels, **{"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name,
                           "apps.kubernetes.io/pod-index": str(i)}))
    for pod_name in pods:
        _quietly(cluster.delete, "v1", "Pod", pod_name, ns)
    current = _pods_of(cluster, sts)
    ready = sum(1 for p in current if _ready(p))
    status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(current),
              "readyReplicas": ready, "currentReplicas": len(current), "updatedReplicas": len(current),
              "availableReplicas": ready, "currentRevision": revision, "updateRevision": revision,
              "collisionCount": 0}
    _set_status(cluster, sts, status)


def _node_matches(node, selector):
    labels = node["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def reconcile_daemonset(cluster, ds):
    """One Pod per matching Node; Pods of an older template are replaced."""
    ns, name = ds["metadata"]["namespace"], ds["metadata"]["name"]
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
            _new_pod(cluster, ds, "%s-%s" % (name, _suffix(cluster)), template,
                     dict(labels, **{"controller-revision-hash": revision, "pod-template-generation": str(
                         ds["metadata"].get("generation", 1))}), node)
    current = _pods_of(cluster, ds)
    ready = sum(1 for p in current if _ready(p))
    status = {"observedGeneration": ds["metadata"].get("generation", 1), "desiredNumberScheduled": len(nodes),
              "currentNumberScheduled": len(current), "updatedNumberScheduled": len(current), "numberReady": ready,
              "numberAvailable": ready, "numberMisscheduled": 0}
    if len(nodes) - ready:
        status["numberUnavailable"] = len(nodes) - ready
    _set_status(cluster, ds, status)


# ---- Jobs, Services, Namespaces ----------------------------------------------------------------------------------
def complete_job(cluster, job):
    """Jobs succeed at once (no Pods run)."""
    if (job.get("status") or {}).get("succeeded"):
        return
    stamp = now()
    _set_status(cluster, job, {"succeeded": 1, "startTime": stamp, "completionTime": stamp, "ready": 0, "conditions": [
        {"type": t, "status": "True", "lastProbeTime": stamp, "lastTransitionTime": stamp}
        for t in ("SuccessCriteriaMet", "Complete")]})


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


# ---- wiring -----------------------------------------------------------------------------------------------------
RECONCILERS = {("apps", "Deployment"): reconcile_deployment, ("apps", "ReplicaSet"): reconcile_replicaset,
               ("apps", "StatefulSet"): reconcile_statefulset, ("apps", "DaemonSet"): reconcile_daemonset}


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
    """Deployments, ReplicaSets, StatefulSets, DaemonSets: reconcile the object, then its owner."""
    if event.type != "DELETED":
        group = event.api_version.partition("/")[0]
        current = cluster.get(event.api_version, event.kind, event.name, event.namespace)
        if current is not None:
            RECONCILERS[(group, event.kind)](cluster, current)
    _reconcile_owner(cluster, event.object)


def on_pod(cluster, event):
    """Pods become Running and Ready; their owner is reconciled."""
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
    emulator.on_write(on_workload, kinds=[("apps/v1", k) for k in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")])
    emulator.on_write(on_pod, kinds=[("v1", "Pod")])
    emulator.on_write(on_node, kinds=[("v1", "Node")])
    emulator.on_write(_on_current(complete_job, "batch/v1", "Job"), kinds=[("batch/v1", "Job")])
    emulator.on_write(_on_current(load_balancer, "v1", "Service"), kinds=[("v1", "Service")])
    emulator.on_write(_on_current(namespace_defaults, "v1", "Namespace"), kinds=[("v1", "Namespace")])
