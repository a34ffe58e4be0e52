"""The manual walk of the procedure with helm and kubectl against two emulated clusters (stand-in charts) reaches
connected peers, and what each simulated controller produced on the way; breaking the root disconnects the peers."""

import base64

from meshenv import wait_for
from emulator.mesh import pki


def test_spire_installed_ready_and_bundle_published(walked):
    for c, read in walked.read.items():
        pods = read.pods("spire-server", "app.kubernetes.io/name in (server,agent,spiffe-csi-driver)")
        assert len(pods) == 5
        assert all(cond.status == "True" for p in pods for cond in p.status.conditions if cond.type == "Ready")
        bundle = read.core.read_namespaced_config_map("spire-bundle", "spire-server").data["bundle.crt"]
        assert walked.pki.root_pem in bundle, c


def test_procedure_cluster_spiffe_ids_are_ignored_without_class(walked):
    read = walked.read["cluster1"]
    items = read.custom.list_cluster_custom_object("spire.spiffe.io", "v1alpha1", "clusterspiffeids")["items"]
    by_name = {i["metadata"]["name"]: i for i in items}
    assert set(by_name) == {"istio-ztunnel-reg", "istio-waypoint-reg", "istio-ambient-reg", "spire-server-spire-default"}
    for name in ("istio-ztunnel-reg", "istio-waypoint-reg", "istio-ambient-reg"):
        assert "status" not in by_name[name], name   # classless + watchClassless=false: the controller manager skips them
    stats = by_name["spire-server-spire-default"]["status"]["stats"]
    assert stats["podsSelected"] > 0 and stats["namespacesIgnored"] >= 1


def test_operator_installs_istio_from_the_smc(walked):
    for c, read in walked.read.items():
        ns = read.core.read_namespace("istio-system")
        assert ns.metadata.labels["topology.istio.io/network"] == c
        env = read.istiod_env()
        assert env["CLUSTER_ID"] == c and env["ENABLE_PEERING_DISCOVERY"] == "true"
        assert env["SOLO_LICENSE_KEY"].startswith("emu-license:")
        assert read.apps.read_namespaced_deployment("istiod-gloo", "istio-system").metadata.labels["app"] == "istiod"
        mesh = read.core.read_namespaced_config_map("istio-gloo", "istio-system").data["mesh"]
        assert "trustDomain: %s" % c in mesh
        ztunnel = read.apps.read_namespaced_daemon_set("ztunnel", "istio-system")
        zenv = {e.name: e.value for e in ztunnel.spec.template.spec.containers[0].env}
        assert zenv["NETWORK"] == c and zenv["SPIRE_ENABLED"] == "true" and zenv["CA_ADDRESS"] == "unix:///var/run/spire/admin.sock"
        assert ztunnel.metadata.labels["app"] == "ztunnel" and ztunnel.status.number_ready == 2
        assert read.apps.read_namespaced_daemon_set("istio-cni-node", "istio-system").status.number_ready == 2
        smc = read.custom.get_cluster_custom_object("operator.gloo.solo.io", "v1", "servicemeshcontrollers", "managed-istio")
        assert smc["status"]["phase"] == "SUCCEEDED"
        assert {x["type"]: x["status"] for x in smc["status"]["conditions"]}["Ready"] == "True"
        for namespace in ("default", "kube-system", "istio-system", "spire-server", "istio-eastwest"):
            cm = read.core.read_namespaced_config_map("istio-ca-root-cert", namespace)
            assert cm.data["root-cert.pem"] == walked.pki.root_pem and cm.metadata.labels["istio.io/config"] == "true"
        assert not [x for x in read.core.list_namespaced_config_map("kube-public").items if x.metadata.name == "istio-ca-root-cert"]
        assert read.custom.list_namespaced_custom_object("networking.istio.io", "v1", "istio-system", "workloadentries")["items"] == []


def test_eastwest_gateway_deployed_and_programmed(walked):
    for c, read in walked.read.items():
        svc = read.core.read_namespaced_service("istio-eastwest", "istio-eastwest")
        assert svc.spec.type == "LoadBalancer"
        assert {"istio.io/expose-istiod": "15012", "topology.istio.io/network": c, "topology.istio.io/cluster": c,
                "gateway.networking.k8s.io/gateway-name": "istio-eastwest"}.items() <= svc.metadata.labels.items()
        pods = read.pods("istio-eastwest", "service.istio.io/canonical-name=istio-eastwest")
        assert len(pods) == 1
        gw = read.gateway("istio-eastwest")
        assert gw["status"]["addresses"] == [{"type": "IPAddress", "value": walked.address[c]}]
        assert read.conditions("istio-eastwest")["Programmed"][0] == "True"
        classes = read.custom.list_cluster_custom_object("gateway.networking.k8s.io", "v1", "gatewayclasses")["items"]
        assert {x["metadata"]["name"]: x["spec"]["controllerName"] for x in classes}["istio-eastwest"] == "istio.io/eastwest-controller"


def test_peers_connected_both_ways(walked):
    assert walked.connected("cluster1", "cluster2") and walked.connected("cluster2", "cluster1")
    conds = walked.read["cluster1"].conditions("istio-remote-peer-cluster2")
    assert conds["Accepted"][0] == conds["Programmed"][0] == "True"
    assert conds["Programmed"][2] == "This Gateway is remote; Istio will not program it"
    assert walked.read["cluster1"].gateway("istio-remote-peer-cluster2")["status"]["addresses"][0]["value"] == walked.address["cluster2"]


def test_license_endpoint_through_the_pod_proxy(walked):
    status, body = walked.read["cluster1"].license()
    assert status == 200 and body.replace(" ", "") == '{"State":"OK","Product":"GlooMesh"}'


def test_breaking_the_root_disconnects_the_peers(walked):
    h, read1, read2 = walked.handle, walked.read["cluster1"], walked.read["cluster2"]
    before = read2.core.read_namespaced_secret("cacerts", "istio-system").data
    h.admin("cluster2", "POST", "/_emulator/mesh/faults", {"foreign_root": True})
    try:
        wait_for(lambda: read1.peer_state("istio-remote-peer-cluster2")[:2] == ("False", "Unknown"), what="cluster1 -> cluster2 broken")
        wait_for(lambda: read2.peer_state("istio-remote-peer-cluster1")[:2] == ("False", "Unknown"), what="cluster2 -> cluster1 broken")
        conds = read1.conditions("istio-remote-peer-cluster2")
        assert conds["gloo.solo.io/PeerConnected"] == ("False", "Pending", "not connected to peer")
        assert conds["gloo.solo.io/PeeringSucceeded"][2] == "network not yet synced check istiod log for more details"
        swapped = read2.core.read_namespaced_secret("cacerts", "istio-system").data
        root = pki.load_certs(base64.b64decode(swapped["root-cert.pem"]))[0]
        assert pki.pem(root) != walked.pki.root_pem
        wait_for(lambda: read2.core.read_namespaced_config_map("istio-ca-root-cert", "default").data["root-cert.pem"] == pki.pem(root))
        problems = h.admin("cluster1", "GET", "/_emulator/mesh/status")["peering"]["istio-eastwest/istio-remote-peer-cluster2"]["problems"]
        assert any("unknown certificate authority" in p for p in problems)
    finally:
        h.admin("cluster2", "DELETE", "/_emulator/mesh/faults")
    walked.wait_connected()
    assert read2.core.read_namespaced_secret("cacerts", "istio-system").data == before
