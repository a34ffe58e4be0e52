"""The trust model under CA rotations done by hand (what rotate_ca.yml automates), with the cross-cluster probe running:
the published sequences give 0 failed requests; the same steps out of order, or without ISTIO_MULTIROOT_MESH, give
failed requests whose reason names the pair and the side that refuses. istiod's cacerts rules (facts 2, 3) and
SPIRE's additive bundle (facts 11, 12) are checked on the way."""

from emulator.mesh import pki
from trustenv import Ca, wait_for


def _synced(mesh, cluster, secret):
    wait_for(lambda: mesh.trust(cluster)["secrets"][secret]["synced"], what="%s mounted in %s" % (secret, cluster))


def _events(mesh, cluster):
    trust = mesh.trust(cluster)
    return [e["message"] for e in trust["istiod"]["pods"][trust["istiod"]["leader"]]["events"]]


def _rotate_cluster(mesh, cluster, istio_ca, spire_ca, roots):
    """Phase 2 for one cluster: istiod and SPIRE issue from new intermediates; workloads restarted to pick them up."""
    mesh.set_cacerts(cluster, istio_ca, roots, chain_roots=[r for r in roots if r.cert == istio_ca.cert.issuer or
                                                            r.cert.subject == istio_ca.cert.issuer][:1])
    mesh.set_upstream(cluster, spire_ca, roots)
    wait_for(lambda: mesh.istiod_issuer(cluster) == istio_ca.fingerprint, what="istiod of %s issues from the new CA" % cluster)
    _synced(mesh, cluster, "spire-server/spiffe-upstream-ca")
    mesh.activate(cluster, mesh.prepare(cluster))
    mesh.roll_workloads(cluster)


def test_intermediate_rotation_gives_no_failed_request(fresh_mesh):
    mesh = fresh_mesh()
    root = mesh.root_a
    roots_before = {c: mesh.istiod_roots(c) for c in mesh.clusters}
    chains_before = {c: {z["chain"][0]["sha256"] for z in mesh.trust(c)["ztunnel"].values()} for c in mesh.clusters}
    mesh.reset_probe()
    new_istio = {c: Ca("Istio %s A2" % c, root, pathlen=0) for c in mesh.clusters}
    new_spire = {c: Ca("SPIRE %s A2" % c, root) for c in mesh.clusters}
    for c in mesh.clusters:
        _rotate_cluster(mesh, c, new_istio[c], new_spire[c], [root])
    mesh.wait_probe_rounds(10)
    probe = mesh.probe()
    assert probe["failed"] == 0 and all(p["ok"] >= 10 for p in probe["pairs"].values()), probe
    for c in mesh.clusters:
        trust = mesh.trust(c)
        assert mesh.istiod_roots(c) == roots_before[c] == [root.fingerprint]
        assert trust["spire"]["spire-server"]["active"]["upstream_authority_id"] == pki.subject_key_id(new_spire[c].cert)
        chains = {z["chain"][1]["sha256"] for z in trust["ztunnel"].values()}
        assert chains == {new_spire[c].fingerprint} and not {z["chain"][0]["sha256"] for z in trust["ztunnel"].values()} & chains_before[c]
        assert {g["chain"][1]["sha256"] for g in trust["gateways"].values()} == {new_spire[c].fingerprint}   # gateways.spire.workloads


def test_root_rotation_in_three_phases_gives_no_failed_request(fresh_mesh):
    mesh = fresh_mesh(("c1", "c2", "c3"))
    a, b = mesh.root_a, Ca("Root B", pathlen=2)
    mesh.reset_probe()
    # phase 1, everywhere: B joins every trust store (root-cert.pem = A + B, bundle.crt = A + B, then a mint)
    for c in mesh.clusters:
        mesh.set_cacerts(c, mesh.istio[c], [a, b], chain_roots=[a])
        mesh.set_upstream(c, mesh.spire[c], [a, b])
    for c in mesh.clusters:
        wait_for(lambda c=c: mesh.istiod_roots(c) == [a.fingerprint, b.fingerprint], what="istiod of %s holds A and B" % c)
        wait_for(lambda c=c: mesh.configmap_roots(c, "kube-system") == [a.fingerprint, b.fingerprint], what="ConfigMaps of %s" % c)
        _synced(mesh, c, "spire-server/spiffe-upstream-ca")
        mesh.prepare(c)
        assert mesh.spire_bundle(c) == [a.fingerprint, b.fingerprint]
        mesh.roll_workloads(c)
    # phase 2, cluster by cluster: issue from B
    issuing = {}
    for c in mesh.clusters:
        issuing[c] = (Ca("Istio %s B" % c, b, pathlen=0), Ca("SPIRE %s B" % c, b))
        _rotate_cluster(mesh, c, issuing[c][0], issuing[c][1], [a, b])
    # phase 3, everywhere: A leaves root-cert.pem and bundle.crt
    for c in mesh.clusters:
        mesh.set_cacerts(c, issuing[c][0], [b])
        mesh.set_upstream(c, issuing[c][1], [b])
    for c in mesh.clusters:
        wait_for(lambda c=c: mesh.istiod_roots(c) == [b.fingerprint], what="istiod of %s holds B alone" % c)
        wait_for(lambda c=c: mesh.configmap_roots(c) == mesh.configmap_roots(c, "istio-system") == [b.fingerprint], what="ConfigMaps B")
    mesh.wait_probe_rounds(10)
    probe = mesh.probe()
    assert probe["failed"] == 0 and len(probe["pairs"]) == 6 and all(p["ok"] >= 10 for p in probe["pairs"].values()), probe
    for c in mesh.clusters:
        # fact 12: SPIRE keeps trusting A until it expires, whatever bundle.crt says
        assert mesh.spire_bundle(c) == [a.fingerprint, b.fingerprint]
        assert "Updating new ROOT-CA" in _events(mesh, c)


def test_issuing_from_the_new_root_before_trust_propagated_fails(fresh_mesh):
    mesh = fresh_mesh()
    a, b = mesh.root_a, Ca("Root B", pathlen=2)
    mesh.reset_probe()
    # phase 1 on c1 only, then c1 issues from B: c2 still trusts A alone
    mesh.set_cacerts("c1", mesh.istio["c1"], [a, b], chain_roots=[a])
    mesh.set_upstream("c1", mesh.spire["c1"], [a, b])
    wait_for(lambda: mesh.istiod_roots("c1") == [a.fingerprint, b.fingerprint], what="c1 holds A and B")
    _rotate_cluster(mesh, "c1", Ca("Istio c1 B", b, pathlen=0), Ca("SPIRE c1 B", b), [a, b])
    mesh.wait_probe_rounds(5)
    pairs = mesh.probe()["pairs"]
    assert pairs["c1->c2"]["failed"] > 0 and pairs["c2->c1"]["failed"] > 0 and pairs["c1->c2"]["failing"]
    reason = pairs["c1->c2"]["last_failure"]["reason"]
    assert reason.startswith("c1 -> c2: server side rejects the client: ") and "of c2 does not trust the chain of ztunnel" in reason
    assert "SPIRE c1 B" in reason and "it trusts [Root A" in reason
    reason = pairs["c2->c1"]["last_failure"]["reason"]
    assert reason.startswith("c2 -> c1: ") and "rejects" in reason and "SPIRE c1 B" in reason
    # the control plane too: the istiods no longer trust each other
    problems = mesh.status("c2")["peering"]["istio-eastwest/istio-remote-peer-c1"]["problems"]
    assert any("unknown certificate authority" in p for p in problems)


def test_without_multiroot_istiod_ignores_the_new_root_and_the_rotation_fails(fresh_mesh):
    mesh = fresh_mesh(multiroot=False)
    a, b = mesh.root_a, Ca("Root B", pathlen=2)
    mesh.reset_probe()
    for c in mesh.clusters:
        mesh.set_cacerts(c, mesh.istio[c], [a, b], chain_roots=[a])
        mesh.set_upstream(c, mesh.spire[c], [a, b])
    for c in mesh.clusters:
        wait_for(lambda c=c: "Multi root is disabled, updating new ROOT-CA not supported" in _events(mesh, c), what="ignored in " + c)
        assert mesh.istiod_roots(c) == [a.fingerprint] and mesh.configmap_roots(c) == [a.fingerprint]
        _synced(mesh, c, "spire-server/spiffe-upstream-ca")
        mesh.prepare(c)
        mesh.roll_workloads(c)
    assert mesh.probe()["failed"] == 0
    # phase 2 on c1: istiod keeps its CA (the root changed: ignored), SPIRE issues from B; c2's gateway trusts A only
    mesh.set_cacerts("c1", Ca("Istio c1 B", b, pathlen=0), [a, b], chain_roots=[b])
    mesh.set_upstream("c1", Ca("SPIRE c1 B", b), [a, b])
    _synced(mesh, "c1", "spire-server/spiffe-upstream-ca")
    mesh.activate("c1", mesh.prepare("c1"))
    mesh.roll_workloads("c1")
    mesh.wait_probe_rounds(5)
    pair = mesh.probe()["pairs"]["c1->c2"]
    assert pair["failed"] > 0
    assert pair["last_failure"]["reason"].startswith("c1 -> c2: server side rejects the client: east-west gateway pod istio-eastwest/")
    assert mesh.istiod_issuer("c1") == mesh.istio["c1"].fingerprint
    # a restart loads the files (fact 2: "a restart is needed")
    mesh.handle.kubectl("-n", "istio-system", "delete", "pods", "-l", "app=istiod", context="c2")
    wait_for(lambda: mesh.istiod_roots("c2") == [a.fingerprint, b.fingerprint], what="restarted istiod of c2 loads A and B")


def test_istiod_refuses_a_ca_that_does_not_chain_and_a_bundle_that_does_not_contain_the_old_one(fresh_mesh):
    mesh = fresh_mesh(("solo",))
    a, b = mesh.root_a, Ca("Root B", pathlen=2)
    issuer = mesh.istiod_issuer("solo")
    # fact 3: ca-cert.pem from B while root-cert.pem holds A only
    mesh.set_cacerts("solo", Ca("Istio solo B", b, pathlen=0), [a], chain_roots=[b])
    wait_for(lambda: any(m.startswith("Failed to update new Plug-in CA certs: cannot verify the cert") for m in _events(mesh, "solo")),
             what="refused CA")
    assert mesh.istiod_issuer("solo") == issuer and mesh.istiod_roots("solo") == [a.fingerprint]
    # fact 2 with MULTIROOT: a bundle that neither contains the old one nor is contained in it
    mesh.set_cacerts("solo", Ca("Istio solo B2", b, pathlen=0), [b])
    wait_for(lambda: "Updating new ROOT-CA not supported" in _events(mesh, "solo"), what="bundle without the old root refused")
    assert mesh.istiod_issuer("solo") == issuer and mesh.istiod_roots("solo") == [a.fingerprint]
    assert mesh.configmap_roots("solo") == [a.fingerprint]


def test_the_inferred_behaviours_are_switchable(fresh_mesh):
    mesh = fresh_mesh(("solo",))
    a, b = mesh.root_a, Ca("Root B", pathlen=2)
    mesh.set_upstream("solo", mesh.spire["solo"], [a, b])
    wait_for(lambda: mesh.trust("solo")["secrets"]["spire-server/spiffe-upstream-ca"]["synced"], what="synced")
    mesh.prepare("solo")

    def roots(kind):
        return [[r["sha256"] for r in w["trusted_roots"]] for w in mesh.trust("solo")[kind].values()]
    # facts 5/8: the roots come with the certificate (no refresh yet: A only), east-west gateways use istiod's roots
    assert roots("ztunnel") == [[a.fingerprint]] * 2 and roots("gateways") == [[a.fingerprint]]
    settings = "/_emulator/mesh/settings"
    mesh.handle.admin("solo", "POST", settings, {"ztunnel_roots_at_fetch": False, "gateway_trust": "spire"})
    assert roots("ztunnel") == [[a.fingerprint, b.fingerprint]] * 2 and roots("gateways") == [[a.fingerprint, b.fingerprint]]
    # fact 6: a ztunnel without multi-root support keeps only the root its own chain ends in
    mesh.handle.admin("solo", "POST", settings, {"ztunnel_multi_root": False})
    assert roots("ztunnel") == [[a.fingerprint]] * 2
    mesh.handle.admin("solo", "POST", settings, {"ztunnel_roots_at_fetch": None, "gateway_trust": None, "ztunnel_multi_root": None})
    assert roots("ztunnel") == [[a.fingerprint]] * 2
