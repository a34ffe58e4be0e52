"""SPIRE's CA over time on an emulated cluster: the rotator prepares and activates on its own with a short CA lifetime
(settings at `up`), ztunnel follows at half its certificate's lifetime, and a server pod restarted on an emptyDir
datastore starts afresh (new CA, a bundle of the current bundle.crt only)."""

from trustenv import Ca, wait_for


def _spire(mesh, cluster="solo"):
    return mesh.trust(cluster)["spire"]["spire-server"]


def test_the_rotator_prepares_and_activates_and_ztunnel_follows(fresh_mesh):
    mesh = fresh_mesh(("solo",), settings={"spire_ca_ttl": 12, "spire_rotation_check": 0.5})
    first = _spire(mesh)["active"]["authority_id"]
    wait_for(lambda: (_spire(mesh)["prepared"] or {}).get("authority_id") not in (None, first), timeout=40, what="prepared at half-life")
    wait_for(lambda: _spire(mesh)["active"]["authority_id"] != first, timeout=40, what="activated at the activation threshold")
    spire = _spire(mesh)
    assert spire["old"]["authority_id"] == first and [r["sha256"] for r in spire["bundle"]] == [mesh.root_a.fingerprint]
    active = spire["active"]["authority_id"]
    # SVIDs never outlive the CA: ztunnel refreshes at half of that and lands on the new CA
    wait_for(lambda: {z["issuer"]["subject_key_id"] for z in mesh.trust("solo")["ztunnel"].values()} - {first}, timeout=40,
             what="ztunnel on the new CA")
    assert {z["issuer"]["subject_key_id"] for z in mesh.trust("solo")["ztunnel"].values()} <= {active, _spire(mesh)["active"]["authority_id"]}


def test_a_restart_on_an_emptydir_datastore_starts_afresh(fresh_mesh):
    mesh = fresh_mesh(("solo",))
    a, b = mesh.root_a, Ca("Root B", pathlen=2)
    mesh.set_upstream("solo", mesh.spire["solo"], [a, b])
    wait_for(lambda: mesh.trust("solo")["secrets"]["spire-server/spiffe-upstream-ca"]["synced"], what="synced")
    mesh.prepare("solo")
    assert [r["sha256"] for r in _spire(mesh)["bundle"]] == [a.fingerprint, b.fingerprint]
    mesh.set_upstream("solo", Ca("SPIRE solo B", b), [b])
    before = _spire(mesh)["active"]["authority_id"]
    mesh.handle.kubectl("-n", "spire-server", "delete", "pod", "spire-server-0", context="solo")
    wait_for(lambda: _spire(mesh)["active"]["authority_id"] != before, what="a new CA after the restart")
    spire = _spire(mesh)
    assert spire["persistent"] is False and spire["prepared"] is None and spire["old"] is None
    assert [r["sha256"] for r in spire["bundle"]] == [b.fingerprint]
    published = mesh.handle.kubectl("-n", "spire-server", "get", "configmap", "spire-bundle", "-o", "jsonpath={.data.bundle\\.crt}",
                                    context="solo").stdout
    assert published == b.pem
