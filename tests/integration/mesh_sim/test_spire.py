"""Simulated SPIRE: the server validates its disk UpstreamAuthority like SPIRE 1.11 (with the real chart's
bundle_file_path pitfall), agents follow the server, the controller manager honours className/watchClassless."""

import json
import os

import pytest

import meshenv
from emulator.mesh import pki
from meshenv import wait_for


def _secret(handle, data):
    """Replace Secret spire-server/spiffe-upstream-ca (kubectl create --dry-run | kubectl apply)."""
    args = ["-n", "spire-server", "create", "secret", "generic", "spiffe-upstream-ca", "--dry-run=client", "-o", "json"]
    args += ["--from-file=%s=%s" % kv for kv in data.items()]
    doc = handle.kubectl(*args, context="solo").stdout
    handle.kubectl("apply", "-f", "-", context="solo", stdin=doc)


def _server(read):
    pod = read.pods("spire-server", "app.kubernetes.io/name=server")[0]
    ready = [c.status for c in pod.status.conditions if c.type == "Ready"][0] == "True"
    status = [s for s in pod.status.container_statuses if s.name == "spire-server"][0]
    message = status.last_state.terminated.message if status.last_state and status.last_state.terminated else ""
    return ready, message


def _server_conf(read):
    return json.loads(read.core.read_namespaced_config_map("spire-server", "spire-server").data["server.conf"])


@pytest.fixture(scope="module")
def spire(single):
    handle, tpki = single
    meshenv.install_spire(handle, "solo", tpki.files["solo"], "solo", bundle=None, wait=False)
    return handle, tpki, meshenv.Reader(handle, "solo")


def _helm_spire(handle, bundle=None, **server):
    vals = meshenv.values_file(handle, "spire-solo.json", meshenv.spire_values("solo", bundle, **server))
    handle.helm("upgrade", "spire", os.path.join(meshenv.CHARTS, "spire"), "-n", "spire-server", "-f", vals, context="solo")


def _agents_ready(read):
    agents = read.pods("spire-server", "app.kubernetes.io/name=agent")
    return bool(agents) and all(c.status == "True" for p in agents for c in p.status.conditions if c.type == "Ready")


def test_upstream_ca_validation(spire, tmp_path):
    handle, tpki, read = spire
    files = tpki.files["solo"]
    # the procedure's values: no bundle_file_path rendered, tls.crt holds the intermediate only -> the server runs,
    # but trusts the per-cluster intermediate as its root (published in spire-bundle)
    assert "bundle_file_path" not in json.dumps(_server_conf(read))
    wait_for(lambda: _server(read)[0], what="server ready")
    bundle = wait_for(lambda: (read.core.read_namespaced_config_map("spire-bundle", "spire-server").data or {}).get("bundle.crt"))
    assert bundle == open(files["spire_crt"], encoding="utf-8").read() and tpki.root_pem not in bundle
    # agents follow the server's readiness on the simulator's next reconcile, not in the same instant
    wait_for(lambda: _agents_ready(read), what="agents ready with the server")

    # several certificates in tls.crt without bundle_file_path
    _secret(handle, {"tls.crt": files["spire_chain"], "tls.key": files["spire_key"], "bundle.crt": files["spire_chain"]})
    wait_for(lambda: not _server(read)[0], what="server not ready")
    assert _server(read)[1].endswith("with no bundle_file_path configured only self-signed CAs are supported")
    wait_for(lambda: not any(c.status == "True" for p in read.pods("spire-server", "app.kubernetes.io/name=agent")
                             for c in p.status.conditions if c.type == "Ready"), what="agents follow the server")

    # the collection's fix: the bundle value renders bundle_file_path; the chain validates against the root
    _helm_spire(handle, bundle=tpki.root_pem)
    wait_for(lambda: "bundle_file_path" in json.dumps(_server_conf(read)), what="bundle_file_path rendered")
    wait_for(lambda: _server(read)[0], what="server ready with the bundle")
    wait_for(lambda: tpki.root_pem in read.core.read_namespaced_config_map("spire-bundle", "spire-server").data["bundle.crt"],
             what="the root is in the trust bundle")

    # a key that is not the certificate's
    wrong_key = tmp_path / "wrong.key"
    wrong_key.write_text(pki.key_pem(pki.make_ca("other", tpki.root, tpki.root_key)[1]))
    _secret(handle, {"tls.crt": files["spire_crt"], "tls.key": wrong_key, "bundle.crt": files["spire_chain"]})
    wait_for(lambda: "certificate and private key do not match" in _server(read)[1], what="key mismatch")

    # a bundle the certificate does not chain to
    foreign = tmp_path / "foreign.pem"
    foreign.write_text(pki.pem(pki.make_ca("Foreign root")[0]))
    _secret(handle, {"tls.crt": files["spire_crt"], "tls.key": files["spire_key"], "bundle.crt": str(foreign)})
    wait_for(lambda: "certificate cannot be validated with the provided bundle" in _server(read)[1], what="foreign bundle")
    assert not _server(read)[0]

    # a missing Secret keeps the pod from starting
    handle.kubectl("-n", "spire-server", "delete", "secret", "spiffe-upstream-ca", context="solo")
    wait_for(lambda: 'secret "spiffe-upstream-ca" not found' in _server(read)[1], what="missing secret")
    _secret(handle, {"tls.crt": files["spire_crt"], "tls.key": files["spire_key"], "bundle.crt": files["spire_chain"]})
    wait_for(lambda: _server(read)[0], what="server ready again")


def _stats(read, name):
    obj = read.custom.get_cluster_custom_object("spire.spiffe.io", "v1alpha1", "clusterspiffeids", name)
    return (obj.get("status") or {}).get("stats")


def test_controller_manager_class_filtering(spire):
    handle, tpki, read = spire
    _helm_spire(handle, bundle=tpki.root_pem)
    wait_for(lambda: _server(read)[0], what="server ready")
    handle.kubectl("create", "namespace", "apps", context="solo", check=False)
    handle.kubectl("label", "namespace", "apps", "istio.io/dataplane-mode=ambient", "--overwrite", context="solo")
    handle.kubectl("-n", "apps", "run", "web", "--image=example/web:1", "--labels=istio.io/dataplane-mode=ambient,app=web", context="solo")
    meshenv.apply(handle, "solo", meshenv.cluster_spiffe_ids())
    read.custom.create_cluster_custom_object("spire.spiffe.io", "v1alpha1", "clusterspiffeids", {
        "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID", "metadata": {"name": "other-class"},
        "spec": {"className": "someone-else", "spiffeIDTemplate": "spiffe://x/y", "podSelector": {"matchLabels": {"app": "web"}}}})
    default = wait_for(lambda: _stats(read, "spire-server-spire-default"), what="default stats")
    # the chart's default (className spire-server-spire, fallback) selects every pod outside ignored namespaces
    assert default["namespacesIgnored"] == 2 and default["podsSelected"] >= 1
    assert _stats(read, "istio-ambient-reg") is None and _stats(read, "other-class") is None

    # watchClassless=true: the classless ones are reconciled; the default (fallback) entry for web is masked
    _helm_spire(handle, bundle=tpki.root_pem, controllerManager={"watchClassless": True})
    stats = wait_for(lambda: _stats(read, "istio-ambient-reg"), what="classless reconciled")
    assert stats["podsSelected"] == 1 and stats["entriesToSet"] == 1
    assert _stats(read, "istio-ztunnel-reg")["podsSelected"] == len(read.pods("istio-system", "app=ztunnel"))
    ztunnels = len(read.pods("istio-system", "app=ztunnel"))   # selected by istio-ztunnel-reg when test_license ran before
    wait_for(lambda: _stats(read, "spire-server-spire-default")["entriesMasked"] == 1 + ztunnels, what="fallback masked")
    assert _stats(read, "other-class") is None

    # className set on the resources (the collection's fix) works without watchClassless
    _helm_spire(handle, bundle=tpki.root_pem)
    read.custom.create_cluster_custom_object("spire.spiffe.io", "v1alpha1", "clusterspiffeids", {
        "apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID", "metadata": {"name": "with-class"},
        "spec": {"className": "spire-server-spire", "spiffeIDTemplate": "spiffe://x/y", "podSelector": {"matchLabels": {"app": "web"}},
                 "namespaceSelector": {"matchExpressions": [{"key": "istio.io/dataplane-mode", "operator": "In", "values": ["ambient"]}]}}})
    stats = wait_for(lambda: _stats(read, "with-class"), what="class match reconciled")
    assert stats["podsSelected"] == 1 and stats["namespacesSelected"] == 1
