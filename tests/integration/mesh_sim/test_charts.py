"""The stand-in charts: helm lint, rendering with the real values keys, the real chart's bundle_file_path pitfall,
resource names/labels, and valid YAML everywhere (what yamllint and the API see)."""

import glob
import json
import os
import subprocess

import pytest
import yaml

from meshenv import CHARTS, ROOT

HELM = os.path.join(ROOT, ".tools", "bin", "helm")


def helm(*args, check=True):
    """Run helm (no cluster needed)."""
    return subprocess.run([HELM] + list(args), capture_output=True, text=True, check=check, timeout=60)


def render(chart, namespace, *args):
    """{(kind, name): object} of `helm template`."""
    out = helm("template", chart.split("/")[-1] if chart != "spire" else "spire", os.path.join(CHARTS, chart), "-n", namespace, *args).stdout
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


@pytest.mark.parametrize("chart,version", [("spire-crds", "0.5.0"), ("spire", "0.24.2"), ("gloo-operator", "0.4.3")])
def test_lint_and_version(chart, version):
    result = helm("lint", "--strict", os.path.join(CHARTS, chart), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert yaml.safe_load(open(os.path.join(CHARTS, chart, "Chart.yaml"), encoding="utf-8"))["version"] == version


def test_yaml_files_are_valid_yaml():
    """Template files with {{ }} are *.tpl; every *.yaml/*.yml under tests/charts parses (yamllint-clean)."""
    files = glob.glob(os.path.join(CHARTS, "**", "*.y*ml"), recursive=True)
    assert len(files) >= 8
    for path in files:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert "{{" not in text or path.endswith("values.yaml"), path
        list(yaml.safe_load_all(text))


def test_spire_crds():
    objs = render("spire-crds", "spire-server")
    assert sorted(n for _k, n in objs) == ["clusterfederatedtrustdomains.spire.spiffe.io", "clusterspiffeids.spire.spiffe.io",
                                           "clusterstaticentries.spire.spiffe.io"]
    csid = objs[("CustomResourceDefinition", "clusterspiffeids.spire.spiffe.io")]["spec"]
    assert csid["scope"] == "Cluster" and csid["versions"][0]["name"] == "v1alpha1" and csid["versions"][0]["subresources"] == {"status": {}}
    schema = csid["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert {"spiffeIDTemplate", "podSelector", "namespaceSelector", "className", "hint", "ttl", "jwtTtl", "dnsNameTemplates",
            "workloadSelectorTemplates", "federatesWith", "admin", "downstream", "autoPopulateDNSNames", "fallback"} == set(schema["spec"]["properties"])
    assert schema["spec"]["required"] == ["spiffeIDTemplate"]
    assert {"namespacesSelected", "namespacesIgnored", "podsSelected", "podEntryRenderFailures", "entryFailures", "entriesMasked",
            "entriesToSet"} == set(schema["status"]["properties"]["stats"]["properties"])


DOC = ["--set", "global.spire.trustDomain=cluster1", "--set", "spire-agent.authorizedDelegates[0]=spiffe://cluster1/ns/istio-system/sa/ztunnel",
       "--set", "spire-agent.sockets.admin.enabled=true", "--set", "spire-agent.sockets.admin.mountOnHost=true",
       "--set", "spire-server.upstreamAuthority.disk.enabled=true", "--set", "spire-server.upstreamAuthority.disk.secret.create=false",
       "--set", "spire-server.upstreamAuthority.disk.secret.name=spiffe-upstream-ca",
       "--set", "spire-agent.tolerations[0].operator=Exists", "--set", "spiffe-csi-driver.tolerations[0].key=CriticalAddonsOnly",
       "--set", "spiffe-csi-driver.tolerations[0].operator=Exists"]


def test_spire_resources_with_the_procedure_values():
    objs = render("spire", "spire-server", *DOC)
    assert {("StatefulSet", "spire-server"), ("DaemonSet", "spire-agent"), ("DaemonSet", "spire-spiffe-csi-driver"),
            ("ConfigMap", "spire-server"), ("ConfigMap", "spire-agent"), ("ConfigMap", "spire-controller-manager"),
            ("ConfigMap", "spire-bundle"), ("ClusterSPIFFEID", "spire-server-spire-default"), ("CSIDriver", "csi.spiffe.io")} <= set(objs)
    sts = objs[("StatefulSet", "spire-server")]
    assert [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]] == ["spire-server", "spire-controller-manager"]
    assert sts["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "server"
    assert objs[("DaemonSet", "spire-agent")]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "agent"
    csi = objs[("DaemonSet", "spire-spiffe-csi-driver")]["spec"]["template"]
    assert csi["metadata"]["labels"]["app.kubernetes.io/name"] == "spiffe-csi-driver"
    assert csi["spec"]["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes["upstream-ca"]["secret"]["secretName"] == "spiffe-upstream-ca"
    conf = json.loads(objs[("ConfigMap", "spire-server")]["data"]["server.conf"])
    disk = conf["plugins"]["UpstreamAuthority"][0]["disk"]["plugin_data"]
    assert disk == {"cert_file_path": "/run/spire/upstream_ca/tls.crt", "key_file_path": "/run/spire/upstream_ca/tls.key"}  # the pitfall
    assert conf["server"]["trust_domain"] == "cluster1"
    agent = json.loads(objs[("ConfigMap", "spire-agent")]["data"]["agent.conf"])["agent"]
    assert agent["authorized_delegates"] == ["spiffe://cluster1/ns/istio-system/sa/ztunnel"] and agent["trust_domain"] == "cluster1"
    host_paths = [v["hostPath"]["path"] for v in objs[("DaemonSet", "spire-agent")]["spec"]["template"]["spec"]["volumes"] if "hostPath" in v]
    assert "/run/spire/agent/sockets/csi.spiffe.io/admin" in host_paths
    cm = yaml.safe_load(objs[("ConfigMap", "spire-controller-manager")]["data"]["controller-manager-config.yaml"])
    assert cm["className"] == "spire-server-spire" and cm["watchClassless"] is False and cm["kind"] == "ControllerManagerConfig"
    default = objs[("ClusterSPIFFEID", "spire-server-spire-default")]["spec"]
    assert default["className"] == "spire-server-spire" and default["fallback"] is True
    assert default["spiffeIDTemplate"] == "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}"


def test_spire_bundle_value_renders_bundle_file_path_and_class_settings():
    objs = render("spire", "spire-server", *DOC, "--set-string", "spire-server.upstreamAuthority.disk.secret.data.bundle=ROOT PEM",
                  "--set", "spire-server.controllerManager.watchClassless=true", "--set", "spire-server.controllerManager.className=mine")
    conf = json.loads(objs[("ConfigMap", "spire-server")]["data"]["server.conf"])
    assert conf["plugins"]["UpstreamAuthority"][0]["disk"]["plugin_data"]["bundle_file_path"] == "/run/spire/upstream_ca/bundle.crt"
    assert ("Secret", "spiffe-upstream-ca") not in objs  # secret.create=false
    cm = yaml.safe_load(objs[("ConfigMap", "spire-controller-manager")]["data"]["controller-manager-config.yaml"])
    assert cm["className"] == "mine" and cm["watchClassless"] is True
    created = render("spire", "other-ns", "--set", "spire-server.upstreamAuthority.disk.enabled=true",
                     "--set-string", "spire-server.upstreamAuthority.disk.secret.data.certificate=C",
                     "--set-string", "spire-server.upstreamAuthority.disk.secret.data.key=K")
    assert set(created[("Secret", "spire-server-upstream-ca")]["data"]) == {"tls.crt", "tls.key"}
    assert yaml.safe_load(created[("ConfigMap", "spire-controller-manager")]["data"]["controller-manager-config.yaml"])["className"] == "other-ns-spire"


def test_spire_rejects_host_base_path_under_socket_dir():
    result = helm("template", "spire", os.path.join(CHARTS, "spire"), "--set", "spire-agent.sockets.hostBasePath=/tmp/spire-agent/public/x",
                  check=False)
    assert result.returncode != 0 and "must not be under the socketPath directory" in result.stderr


def test_gloo_operator_license_values():
    objs = render("gloo-operator", "gloo-mesh", "--set", "manager.env.SOLO_ISTIO_LICENSE_KEY=emu-license:GlooMesh:2099-12-31",
                  "--set", "manager.env.SOLO_ISTIO_LICENSE_KEY_SECRET_REF=gloo-mesh/license-keys")
    dep = objs[("Deployment", "gloo-operator")]
    assert dep["metadata"]["labels"]["app.kubernetes.io/name"] == "gloo-operator"
    env = {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SOLO_ISTIO_LICENSE_KEY"] == "emu-license:GlooMesh:2099-12-31" and env["SOLO_ISTIO_LICENSE_KEY_SECRET_REF"] == "gloo-mesh/license-keys"
    crd = objs[("CustomResourceDefinition", "servicemeshcontrollers.operator.gloo.solo.io")]["spec"]
    assert crd["group"] == "operator.gloo.solo.io" and crd["versions"][0]["name"] == "v1" and crd["names"]["kind"] == "ServiceMeshController"


def test_gateway_api_standard_install():
    with open(os.path.join(CHARTS, "gateway-api", "standard-install.yaml"), encoding="utf-8") as handle:
        docs = [d for d in yaml.safe_load_all(handle) if d]
    by_kind = {d["spec"]["names"]["kind"]: d for d in docs}
    assert set(by_kind) == {"Gateway", "GatewayClass", "HTTPRoute", "GRPCRoute", "ReferenceGrant"}
    assert all(d["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"] == "v1.2.1" for d in docs)
    assert by_kind["GatewayClass"]["spec"]["scope"] == "Cluster" and by_kind["Gateway"]["spec"]["scope"] == "Namespaced"
    assert [v["name"] for v in by_kind["Gateway"]["spec"]["versions"] if v["storage"]] == ["v1"]
