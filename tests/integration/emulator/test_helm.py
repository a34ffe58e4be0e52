"""helm 3.18 against the emulator (release Secrets are written as protobuf, upgraded with PUT)."""

import json

import pytest

pytestmark = pytest.mark.slow

TEMPLATES = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: tiny-config}
data: {message: {{ .Values.message | quote }}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tiny}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: tiny}}
  template:
    metadata: {labels: {app: tiny}}
    spec: {containers: [{name: tiny, image: "busybox:{{ .Values.tag }}"}]}
---
apiVersion: v1
kind: Service
metadata: {name: tiny}
spec: {type: LoadBalancer, selector: {app: tiny}, ports: [{port: 80}]}
"""


@pytest.fixture(scope="module")
def chart(tmp_path_factory):
    base = tmp_path_factory.mktemp("chart") / "tiny"
    (base / "templates").mkdir(parents=True)
    (base / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\nappVersion: '1'\n")
    (base / "values.yaml").write_text("message: hello\nreplicas: 1\ntag: '1'\n")
    (base / "templates" / "all.yaml").write_text(TEMPLATES)
    return str(base)


def test_install_upgrade_list_uninstall(emulator, chart):
    helm = emulator.helm
    helm("install", "tiny", chart, "-n", "helm-test", "--create-namespace", "--wait", "--timeout", "30s", context="cluster2")
    helm("upgrade", "tiny", chart, "-n", "helm-test", "--set", "replicas=2,tag=2", "--wait", "--timeout", "30s", context="cluster2")
    releases = json.loads(helm("list", "-n", "helm-test", "-o", "json", context="cluster2").stdout)
    assert [(r["name"], r["revision"], r["status"]) for r in releases] == [("tiny", "2", "deployed")]
    dep = json.loads(emulator.kubectl("get", "deploy", "tiny", "-n", "helm-test", "-o", "json", context="cluster2").stdout)
    assert dep["status"]["readyReplicas"] == 2 and dep["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"
    secrets = json.loads(emulator.kubectl("get", "secrets", "-n", "helm-test", "-l", "owner=helm", "-o", "json",
                                          context="cluster2").stdout)["items"]
    assert sorted(s["metadata"]["labels"]["version"] for s in secrets) == ["1", "2"]
    assert helm("list", "-A", "-q", context="cluster1").stdout.strip() == "" or "tiny" not in helm(
        "list", "-n", "helm-test", "-q", context="cluster1").stdout
    helm("uninstall", "tiny", "-n", "helm-test", "--wait", context="cluster2")
    assert helm("list", "-n", "helm-test", "-q", context="cluster2").stdout.strip() == ""
    gone = emulator.kubectl("get", "deploy", "-n", "helm-test", "-o", "json", context="cluster2").stdout
    assert json.loads(gone)["items"] == []
