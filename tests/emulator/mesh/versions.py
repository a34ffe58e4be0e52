"""Simulated versions (day-2 upgrades): the labels every simulated Istio workload carries for its version, what each
cluster runs (Istio components, Helm releases and their charts), and the ``broken_version`` fault that makes every
pod of a given version crash-loop (Ready False, CrashLoopBackOff, restartCount growing) so a health gate can fail."""

import base64
import gzip
import json

from emulator.store import now as timestamp

VERSION_LABEL = "app.kubernetes.io/version"
CHART_LABEL = "helm.sh/chart"
REVISION = "gloo"


def istio_version(version):
    """The Istio version of an SMC spec.version or an image tag ("1.27.3-patch0-solo" -> "1.27.3-patch0")."""
    version = str(version or "")
    return version[:-5] if version.endswith("-solo") else version


def istio_labels(version):
    """Version labels of the simulated istiod, ztunnel, istio-cni workloads and their pods."""
    return {VERSION_LABEL: istio_version(version)[:63], "istio.io/rev": REVISION}


def image_version(pod_or_template):
    """The Istio version in the image tag of the first container."""
    spec = pod_or_template.get("spec") or {}
    containers = spec.get("containers") or []
    image = (containers[0].get("image") or "") if containers else ""
    return istio_version(image.rsplit(":", 1)[-1]) if ":" in image.rsplit("/", 1)[-1] else ""


def _owner_labels(cluster, pod):
    """Labels of the workload that owns a pod (Deployment through its ReplicaSet, StatefulSet, DaemonSet)."""
    obj = pod
    for _depth in range(2):
        ref = next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        if ref is None or ref.get("kind") not in ("ReplicaSet", "Deployment", "StatefulSet", "DaemonSet"):
            break
        owner = cluster.get(ref.get("apiVersion", "apps/v1"), ref["kind"], ref["name"], pod["metadata"]["namespace"])
        if owner is None:
            break
        obj = owner
        if ref["kind"] != "ReplicaSet":
            break
    return (obj["metadata"].get("labels") or {}) if obj is not pod else {}


def pod_versions(cluster, pod):
    """Every version string a pod runs: its Istio version (label or image tag) and the chart of its workload."""
    labels = pod["metadata"].get("labels") or {}
    owner = _owner_labels(cluster, pod)
    found = {labels.get(VERSION_LABEL), owner.get(VERSION_LABEL), labels.get(CHART_LABEL), owner.get(CHART_LABEL)}
    found.add(image_version(pod))
    return {v for v in found if v}


def _matches(entry, versions):
    return any(v == entry or v.startswith(entry + "-") for v in versions)


def broken_entries(value):
    """The broken_version fault value as a list of version strings."""
    if value in (None, False, "", []):
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def broken_message(cluster, pod, value):
    """The crash message of a pod that runs a broken version, or None."""
    entries = broken_entries(value)
    if not entries or (pod.get("status") or {}).get("phase") != "Running":
        return None
    versions = pod_versions(cluster, pod)
    bad = next((e for e in entries if _matches(e, versions)), None)
    if bad is None:
        return None
    return "emulated broken version %s: the container exits at start (broken_version fault)" % bad


def bump_restart(cluster, pod, set_status):
    """The kubelet restarts a crash-looping container once more (restartCount + 1)."""
    status = dict(pod.get("status") or {})
    stamp = timestamp()
    statuses = []
    for cstatus in status.get("containerStatuses") or []:
        cstatus = dict(cstatus)
        if "waiting" in (cstatus.get("state") or {}):
            cstatus["restartCount"] = int(cstatus.get("restartCount") or 0) + 1
            last = dict((cstatus.get("lastState") or {}).get("terminated") or {})
            last.update(startedAt=stamp, finishedAt=stamp)
            cstatus["lastState"] = {"terminated": last}
        statuses.append(cstatus)
    status["containerStatuses"] = statuses
    return set_status(cluster, pod, status)


def helm_releases(cluster):
    """{namespace/release: {chart, app_version, revision, status}} of the latest revision of every Helm release."""
    latest = {}
    for secret in cluster.list("v1", "Secret", label_selector="owner=helm"):
        labels = secret["metadata"].get("labels") or {}
        key = "%s/%s" % (secret["metadata"]["namespace"], labels.get("name"))
        try:
            revision = int(labels.get("version") or 0)
        except ValueError:
            continue
        if key not in latest or revision > latest[key][0]:
            latest[key] = (revision, secret)
    out = {}
    for key, (revision, secret) in sorted(latest.items()):
        try:
            payload = json.loads(gzip.decompress(base64.b64decode(base64.b64decode((secret.get("data") or {}).get("release") or ""))))
            meta = (payload.get("chart") or {}).get("metadata") or {}
            out[key] = {"chart": "%s-%s" % (meta.get("name"), meta.get("version")), "app_version": meta.get("appVersion"),
                        "revision": revision, "status": (payload.get("info") or {}).get("status")}
        except (ValueError, OSError, TypeError):
            out[key] = {"chart": None, "revision": revision, "status": (secret["metadata"].get("labels") or {}).get("status")}
    return out


def cluster_versions(cluster, istiod_deployments):
    """What a cluster runs: Istio components (from the simulated workloads) and the Helm charts."""
    istio = {}
    for dep in istiod_deployments:
        istio["istiod"] = (dep["metadata"].get("labels") or {}).get(VERSION_LABEL) or image_version(dep["spec"]["template"])
        ns = dep["metadata"]["namespace"]
        for name, key in (("ztunnel", "ztunnel"), ("istio-cni-node", "istio-cni")):
            ds = cluster.get("apps/v1", "DaemonSet", name, ns)
            if ds is not None:
                istio[key] = (ds["metadata"].get("labels") or {}).get(VERSION_LABEL) or image_version(ds["spec"]["template"])
    return {"istio": istio, "helm": helm_releases(cluster)}
