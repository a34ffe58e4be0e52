"""Server-side defaulting of built-in kinds, as the v1.33 API server's defaulters (pkg/apis/*/v1/defaults.go) fill them.

Applied on every create and update (a real server defaults while decoding), so an object always reads back with them
and a write that only omits defaults changes nothing. Only the fields clients read back are covered; each function
mutates the object in place.
"""

DEFAULT_SCHEDULER = "default-scheduler"
TERMINATION_MESSAGE_PATH = "/dev/termination-log"
FILE_MODE = 420   # 0644


def _image_tag(image):
    """The tag of an image reference ("latest" when neither tag nor digest is given), like parsers.ParseImageName."""
    name, _sep, digest = (image or "").partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if digest else "latest"


def _probe(probe):
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def _container(container, host_network=False):
    if not isinstance(container, dict):
        return
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = "Always" if _image_tag(container.get("image")) == "latest" else "IfNotPresent"
    container.setdefault("terminationMessagePath", TERMINATION_MESSAGE_PATH)
    container.setdefault("terminationMessagePolicy", "File")
    if container.get("resources") is None:
        container["resources"] = {}
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if host_network and "containerPort" in port:
                port.setdefault("hostPort", port["containerPort"])
    for env in container.get("env") or []:
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(probe))


def _volume(volume):
    if not isinstance(volume, dict):
        return
    sources = [k for k in volume if k != "name"]
    if not sources:
        volume["emptyDir"] = {}
    for key in ("secret", "configMap", "projected", "downwardAPI"):
        if isinstance(volume.get(key), dict):
            volume[key].setdefault("defaultMode", FILE_MODE)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    for source in (volume.get("projected") or {}).get("sources") or []:
        token = (source or {}).get("serviceAccountToken") if isinstance(source, dict) else None
        if isinstance(token, dict):
            token.setdefault("expirationSeconds", 3607)


def pod_spec(spec, pod=False):
    """SetDefaults_PodSpec (+ SetDefaults_Pod when pod=True: enableServiceLinks and host-network ports)."""
    if not isinstance(spec, dict):
        return
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", DEFAULT_SCHEDULER)
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]    # the deprecated field mirrors it
    # host-network ports are defaulted in Pods only (DefaultHostNetworkHostPortsInPodTemplates is off)
    host_network = pod and bool(spec.get("hostNetwork"))
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            _container(container, host_network)
    for volume in spec.get("volumes") or []:
        _volume(volume)
    if pod:
        spec.setdefault("enableServiceLinks", True)


def _template(obj):
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict):
        _drop_null_timestamp(template)
        pod_spec(template.setdefault("spec", {}))


def _drop_null_timestamp(template):
    """Go clients send a template's zero creationTimestamp as null; it means "unset" (and compares equal to it)."""
    meta = template.get("metadata")
    if isinstance(meta, dict) and "creationTimestamp" in meta and meta["creationTimestamp"] is None:
        del meta["creationTimestamp"]


def deployment(obj):
    """SetDefaults_Deployment."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
        strategy["rollingUpdate"] = rolling
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj)


def pvc_spec(spec):
    """SetDefaults_PersistentVolumeClaimSpec."""
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")


def statefulset(obj):
    """SetDefaults_StatefulSet (StatefulSetAutoDeletePVC is on in 1.33, MaxUnavailableStatefulSet off)."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        strategy.setdefault("rollingUpdate", {})
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        strategy["rollingUpdate"].setdefault("partition", 0)
    policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    policy.setdefault("whenDeleted", "Retain")
    policy.setdefault("whenScaled", "Retain")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            _drop_null_timestamp(claim)
            pvc_spec(claim.setdefault("spec", {}))
            claim.setdefault("status", {}).setdefault("phase", "Pending")
    _template(obj)


def daemonset(obj):
    """SetDefaults_DaemonSet."""
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
        strategy["rollingUpdate"] = rolling
    spec.setdefault("revisionHistoryLimit", 10)
    _template(obj)


def replicaset(obj):
    """SetDefaults_ReplicaSet."""
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj)


def job(obj):
    """SetDefaults_Job (the selector and its labels are generated at create, see job_selector)."""
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    spec.setdefault("manualSelector", False)
    _template(obj)


def job_selector(obj):
    """At create (manualSelector false): selector batch.kubernetes.io/controller-uid=<uid> and the job labels on the
    pod template; the Job's own labels default to its template's."""
    spec = obj["spec"]
    if spec.get("manualSelector"):
        return
    uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template = spec.setdefault("template", {})
    meta = template.setdefault("metadata", {})
    meta["labels"] = dict(meta.get("labels") or {}, **{
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name})
    if not obj["metadata"].get("labels"):
        obj["metadata"]["labels"] = dict(meta["labels"])


def cronjob(obj):
    """SetDefaults_CronJob."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    template = (spec.get("jobTemplate") or {}).get("spec")
    if isinstance(template, dict):
        job({"spec": template})


def qos_class(spec):
    """BestEffort without requests/limits, Guaranteed when every container's limits cover cpu and memory and equal its
    requests, else Burstable (the Pod's status.qosClass)."""
    containers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or []) if isinstance(c, dict)]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for res in resources:
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if not {"cpu", "memory"} <= set(limits) or any(requests.get(k, limits[k]) != limits[k] for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


def pod(obj):
    """SetDefaults_Pod + SetDefaults_PodSpec (admission adds serviceAccountName, tolerations and priority: see admission.py);
    a new Pod's status is phase Pending with its QoS class."""
    spec = obj.setdefault("spec", {})
    pod_spec(spec, pod=True)
    if "status" not in obj:
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}


def pvc(obj):
    """SetDefaults_PersistentVolumeClaim (a new claim is Pending)."""
    pvc_spec(obj.setdefault("spec", {}))
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def pv(obj):
    """SetDefaults_PersistentVolume (a new volume is Pending until the PV controller makes it Available)."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {}).setdefault("phase", "Pending")


def storageclass(obj):
    """SetDefaults_StorageClass."""
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def service(spec):
    """Service spec fields the v1.33 server fills besides type/clusterIP/ports (single-stack IPv4 cluster)."""
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec.get("type") != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec.get("type") in ("LoadBalancer", "NodePort"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec.get("type") == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


BY_KIND = {
    ("apps", "Deployment"): deployment, ("apps", "StatefulSet"): statefulset, ("apps", "DaemonSet"): daemonset,
    ("apps", "ReplicaSet"): replicaset, ("batch", "Job"): job, ("batch", "CronJob"): cronjob, ("", "Pod"): pod,
    ("", "PersistentVolumeClaim"): pvc, ("", "PersistentVolume"): pv, ("storage.k8s.io", "StorageClass"): storageclass,
    ("", "ReplicationController"): replicaset, ("", "PodTemplate"): lambda obj: pod_spec((obj.get("template") or {}).setdefault("spec", {})),
}


def apply(rtype, obj):
    """Default obj (a dict of rtype's kind) in place."""
    func = BY_KIND.get((rtype.group, rtype.kind))
    if func is not None and isinstance(obj.get("spec", {}), dict):
        func(obj)
