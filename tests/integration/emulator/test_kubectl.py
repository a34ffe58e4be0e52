"""kubectl 1.33 against the emulator."""

import json

import pytest

pytestmark = pytest.mark.slow

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: kubectl-test, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: kubectl-test}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
"""


def test_get_namespaces(emulator):
    out = emulator.kubectl("get", "ns", "-o", "json", context="cluster1").stdout
    names = {item["metadata"]["name"] for item in json.loads(out)["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    assert "kube-system" in emulator.kubectl("get", "ns", context="cluster1").stdout


def test_create_apply_wait_delete(emulator):
    assert "created" in emulator.kubectl("create", "namespace", "kubectl-test", context="cluster1").stdout
    first = emulator.kubectl("apply", "-f", "-", context="cluster1", stdin=DEPLOYMENT).stdout
    assert "deployment.apps/web created" in first
    second = emulator.kubectl("apply", "-f", "-", context="cluster1", stdin=DEPLOYMENT).stdout
    assert "deployment.apps/web unchanged" in second and "service/web unchanged" in second
    emulator.kubectl("wait", "--for=condition=Available", "deployment/web", "-n", "kubectl-test", "--timeout=20s",
                     context="cluster1")
    dep = json.loads(emulator.kubectl("get", "deployment", "web", "-n", "kubectl-test", "-o", "json", context="cluster1").stdout)
    assert dep["status"]["readyReplicas"] == 2 and dep["status"]["observedGeneration"] == dep["metadata"]["generation"]
    svc = json.loads(emulator.kubectl("get", "svc", "web", "-n", "kubectl-test", "-o", "json", context="cluster1").stdout)
    assert svc["status"]["loadBalancer"]["ingress"][0]["ip"].startswith("192.0.2.")
    pods = json.loads(emulator.kubectl("get", "pods", "-n", "kubectl-test", "-l", "app=web", "-o", "json", context="cluster1").stdout)
    assert len(pods["items"]) == 2 and all(p["status"]["phase"] == "Running" for p in pods["items"])
    emulator.kubectl("scale", "deployment/web", "-n", "kubectl-test", "--replicas=3", context="cluster1")
    emulator.kubectl("wait", "--for=jsonpath={.status.readyReplicas}=3", "deployment/web", "-n", "kubectl-test",
                     "--timeout=20s", context="cluster1")
    # `kubectl scale` took .spec.replicas (manager "kubectl", subresource scale): a real server refuses to let the apply
    # set it back to 2 without --force-conflicts (test_apply_conflicts_with_the_scale_manager)
    ssa = emulator.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", context="cluster1", stdin=DEPLOYMENT).stdout
    assert "deployment.apps/web serverside-applied" in ssa
    emulator.kubectl("delete", "namespace", "kubectl-test", context="cluster1")
    gone = emulator.kubectl("get", "pods", "-n", "kubectl-test", "-o", "json", context="cluster1", check=False)
    assert json.loads(gone.stdout)["items"] == []


def test_typed_creates(emulator):
    """kubectl's typed creates send protobuf: decoded for Namespace/Secret/ConfigMap/ServiceAccount, else 415."""
    emulator.kubectl("create", "namespace", "typed", context="cluster2")
    emulator.kubectl("create", "secret", "generic", "s", "-n", "typed", "--from-literal=a=b", context="cluster2")
    emulator.kubectl("create", "configmap", "c", "-n", "typed", "--from-literal=a=b", context="cluster2")
    emulator.kubectl("create", "serviceaccount", "sa", "-n", "typed", context="cluster2")
    secret = json.loads(emulator.kubectl("get", "secret", "s", "-n", "typed", "-o", "json", context="cluster2").stdout)
    assert secret["data"] == {"a": "Yg=="} and secret["type"] == "Opaque"
    assert json.loads(emulator.kubectl("get", "cm", "c", "-n", "typed", "-o", "json", context="cluster2").stdout)["data"] == {"a": "b"}
    refused = emulator.kubectl("create", "deployment", "d", "-n", "typed", "--image=x", context="cluster2", check=False)
    assert refused.returncode != 0 and "protobuf only for" in refused.stderr
    emulator.kubectl("delete", "namespace", "typed", context="cluster2")
