"""Mesh faults, per cluster, each reversible: POST /_emulator/mesh/faults merges, DELETE clears (restoring what the
fault changed). Keys:

- ``break_network_label`` (bool): the Istio namespace's topology.istio.io/network label becomes ``broken-<network>``.
- ``foreign_root`` (bool): Secret istio-system/cacerts is swapped for a CA under a freshly generated foreign root, and
  istiod is restarted (its pods deleted) so that it loads it (a running istiod would refuse a new root, fact 2);
  clearing the fault restores the Secret and restarts istiod again.
- ``kill_istiod`` (bool): istiod pods are not Ready (CrashLoopBackOff): nothing istiod writes is updated any more.
- ``disconnect_peer`` (cluster name, list of names, or "all"/true): this cluster's control streams to those peers fail.
- ``enable_peering_discovery`` (bool): istiod env ENABLE_PEERING_DISCOVERY forced to "true"/"false".
- ``k8s_select_workload_entries`` (bool): istiod env PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES forced to "true"/"false".
- ``istiod_env`` ({NAME: value}): further istiod env forced (e.g. {"ISTIO_MULTIROOT_MESH": "true"}); a new rollout.
- ``broken_version`` (version or list): every pod that runs it crash-loops (Ready False, CrashLoopBackOff, restartCount
  growing): a version ("1.28.0" matches the app.kubernetes.io/version label of the pod or its workload, or the image
  tag, equal to 1.28.0 or 1.28.0-...: Istio 1.28.0 and 1.28.0-patchN) or a chart ("spire-0.25.0",
  "gloo-operator-0.4.4": the helm.sh/chart label of the pod's workload). A pod started with a broken version never gets
  Ready in between.
"""

import base64

from emulator.errors import ApiError
from emulator.mesh import pki
from emulator.mesh.istio import NETWORK_LABEL, SIMULATED, apply_env_faults, istiod_deployments
from emulator.mesh.util import quietly

KEYS = {"break_network_label": bool, "foreign_root": bool, "kill_istiod": bool, "disconnect_peer": (str, list, bool),
        "enable_peering_discovery": bool, "k8s_select_workload_entries": bool, "istiod_env": dict, "broken_version": (str, list, int, float)}
ENV_KEYS = ("enable_peering_discovery", "k8s_select_workload_entries", "istiod_env")


def check(body):
    """Validate a faults body (ApiError 400)."""
    if not isinstance(body, dict) or not set(body) <= set(KEYS):
        raise ApiError(400, "unknown mesh fault(s); known: %s" % ", ".join(sorted(KEYS)))
    for key, value in body.items():
        if value is not None and not isinstance(value, KEYS[key]):
            raise ApiError(400, "mesh fault %s has the wrong type" % key)
        if key == "istiod_env" and value and not all(isinstance(k, str) and isinstance(v, (str, bool, int)) or v is None for k, v in value.items()):
            raise ApiError(400, "mesh fault istiod_env must map env names to values")


def _istio_ns(cluster):
    deployments = istiod_deployments(cluster)
    return deployments[0]["metadata"]["namespace"] if deployments else "istio-system"


def foreign_cacerts():
    """Secret data of a valid CA (ca-cert, key, chain, root) under a root nobody else has."""
    root, root_key = pki.make_ca("Foreign Root CA (emulator fault)", pathlen=2)
    inter, inter_key = pki.make_ca("Foreign intermediate CA", root, root_key, pathlen=1)
    values = {"ca-cert.pem": pki.pem(inter), "ca-key.pem": pki.key_pem(inter_key), "root-cert.pem": pki.pem(root),
              "cert-chain.pem": pki.pem(inter) + pki.pem(root)}
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def restart_istiod(cluster):
    """Delete the simulated istiod pods: their ReplicaSet starts new ones, which load cacerts as it is now."""
    for dep in istiod_deployments(cluster):
        ns = dep["metadata"]["namespace"]
        for pod in cluster.list("v1", "Pod", ns, label_selector="app=istiod"):
            if (pod["metadata"].get("annotations") or {}).get(SIMULATED) == "true":
                quietly(cluster.delete, "v1", "Pod", pod["metadata"]["name"], ns)


class FaultState:
    """Active mesh faults of one cluster and what they replaced (to restore it)."""

    def __init__(self):
        self.active = {}
        self.saved = {}

    def set(self, cluster, body):
        """Merge settings (None removes a key) and apply the immediate effects."""
        check(body)
        before = dict(self.active)
        for key, value in body.items():
            if key == "broken_version" and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if value is None or value is False and key in ("break_network_label", "foreign_root", "kill_istiod", "disconnect_peer") \
                    or value in ({}, []):
                self.active.pop(key, None)
            else:
                self.active[key] = value
        self._apply(cluster, before)
        return self.active

    def clear(self, cluster):
        """Remove every fault, restoring the objects they changed."""
        before = dict(self.active)
        self.active = {}
        self._apply(cluster, before)
        return self.active

    def _apply(self, cluster, before):
        ns = _istio_ns(cluster)
        now, was = self.active, before
        if now.get("break_network_label") and not was.get("break_network_label"):
            ns_obj = cluster.get("v1", "Namespace", ns)
            if ns_obj is not None:
                original = (ns_obj["metadata"].get("labels") or {}).get(NETWORK_LABEL)
                self.saved["network"] = original
                quietly(cluster.patch, "v1", "Namespace", ns, {"metadata": {"labels": {NETWORK_LABEL: "broken-%s" % (original or "network")}}})
        elif was.get("break_network_label") and not now.get("break_network_label") and "network" in self.saved:
            quietly(cluster.patch, "v1", "Namespace", ns, {"metadata": {"labels": {NETWORK_LABEL: self.saved.pop("network")}}})
        if now.get("foreign_root") and not was.get("foreign_root"):
            secret = cluster.get("v1", "Secret", "cacerts", ns)
            self.saved["cacerts"] = secret
            data = foreign_cacerts()
            if secret is None:
                quietly(cluster.create, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                         "metadata": {"name": "cacerts", "namespace": ns}, "data": data})
            else:
                secret.pop("stringData", None)
                quietly(cluster.update, dict(secret, data=data))
            restart_istiod(cluster)
        elif was.get("foreign_root") and not now.get("foreign_root") and "cacerts" in self.saved:
            original = self.saved.pop("cacerts")
            current = cluster.get("v1", "Secret", "cacerts", ns)
            if original is None:
                quietly(cluster.delete, "v1", "Secret", "cacerts", ns)
            elif current is None:
                original["metadata"] = {k: v for k, v in original["metadata"].items() if k not in ("uid", "resourceVersion", "creationTimestamp")}
                quietly(cluster.create, original)
            else:
                quietly(cluster.update, dict(current, data=original.get("data") or {}))
            restart_istiod(cluster)
        if any(now.get(k) != was.get(k) for k in ENV_KEYS):
            self._apply_env(cluster)

    def _apply_env(self, cluster):
        overrides = {k: v for k, v in self.active.items() if k in ENV_KEYS}
        originals = self.saved.setdefault("env", {})
        for dep in istiod_deployments(cluster):
            key = (dep["metadata"]["namespace"], dep["metadata"]["name"])
            containers = dep["spec"]["template"]["spec"].get("containers") or []
            container = next((c for c in containers if c.get("name") == "discovery"), None)
            if container is None:
                continue
            if key not in originals:
                originals[key] = [dict(e) for e in container.get("env") or []]
            container["env"] = apply_env_faults(originals[key], overrides) if overrides else originals.pop(key)
            quietly(cluster.update, dep)
