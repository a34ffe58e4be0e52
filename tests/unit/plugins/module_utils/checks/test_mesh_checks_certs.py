# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import cacerts, errors, healthy, pem, pki, warnings  # noqa: E402  pylint: disable=wrong-import-position
from emulator.mesh.pki import fingerprint  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import certs  # noqa: E402


def test_certs_pass():
    findings = certs.check_intermediate_certs(healthy())
    assert not errors(findings) and not warnings(findings)
    infos = [f["message"] for f in findings if f["level"] == "info"]
    assert len(infos) == 2 and infos[0].startswith("cluster cluster1 root certificate SHA256 sum: ")
    assert infos[0].split(": ")[1] == infos[1].split(": ")[1]
    oks = [f["message"] for f in findings if f["level"] == "ok"]
    assert "cluster cluster1 has compatible intermediate certificates with cluster cluster2" in oks
    assert oks.count("all clusters have compatible intermediate certificates") == 2


def test_certs_foreign_root():
    snaps = healthy()
    p = pki()
    snaps["cluster2"]["cacerts"] = cacerts(p["istio-foreign"], p["foreign"])
    snaps["cluster2"]["istio_ca_root_cert"] = pem(p["foreign"][0])
    findings = certs.check_intermediate_certs(snaps)
    errs = errors(findings)
    assert errs and {e["check"] for e in errs} == {"intermediate_certs"}
    assert any("cluster cluster1 has incompatible intermediate certificates with cluster cluster2" in e["message"] for e in errs)
    assert not [f for f in findings if f["message"] == "all clusters have compatible intermediate certificates"]


def test_certs_chain_does_not_verify():
    snaps = healthy()
    p = pki()
    bad = cacerts(p["istio-foreign"], p["root"])
    snaps["cluster1"]["cacerts"] = bad
    errs = errors(certs.check_intermediate_certs(snaps), cluster="cluster1")
    reason = "'istio foreign' is issued by 'CN=Foreign Root CA,O=emulator', which is neither the root 'SPIRE Root CA' nor a certificate of the chain"
    assert "cacerts: " + reason in [e["message"] for e in errs]
    assert ("cluster cluster1 has incompatible intermediate certificates with cluster cluster2: the cacerts of cluster cluster1 cannot be used: "
            + reason) in [e["message"] for e in errs]


def test_certs_configmap_differs_key_mismatch_missing():
    snaps = healthy(3)
    snaps["cluster1"]["istio_ca_root_cert"] = pem(pki()["foreign"][0])
    snaps["cluster2"]["cacerts"]["key_matches"] = False
    snaps["cluster3"]["cacerts"] = {"present": False}
    findings = certs.check_intermediate_certs(snaps)
    assert any("istio-ca-root-cert root-cert.pem" in e["message"] for e in errors(findings, cluster="cluster1"))
    assert any(e["message"] == "cacerts ca-key.pem does not match ca-cert.pem" for e in errors(findings, cluster="cluster2"))
    assert "no cacerts Secret" in errors(findings, cluster="cluster3")[0]["message"]


def test_certs_configmap_missing_and_bad_pem():
    snaps = healthy()
    snaps["cluster1"]["istio_ca_root_cert"] = None
    snaps["cluster2"]["cacerts"]["root_cert"] = "garbage"
    findings = certs.check_intermediate_certs(snaps)
    assert "istio-ca-root-cert" in warnings(findings, cluster="cluster1")[0]["message"]
    assert "not a PEM certificate" in errors(findings, cluster="cluster2")[0]["message"]


def test_certs_expiry_warning():
    snaps = healthy()
    p = pki()
    snaps["cluster1"]["cacerts"] = cacerts(p["spire-short"], p["root"])
    findings = certs.check_intermediate_certs(snaps, {"warning_days": 90})
    assert not errors(findings)
    assert [f["message"].split(" day(s)")[0] for f in warnings(findings, cluster="cluster1")] == ["cacerts: 'spire short' expires in 9"]
    assert not warnings(findings, cluster="cluster2")


def test_certs_without_ca_key_is_an_error():
    """A cacerts without ca-key.pem (key_present false): istiod cannot sign, the check must not pass (regression)."""
    snaps = healthy()
    snaps["cluster2"]["cacerts"].update(key_present=False, key_matches=None)
    findings = certs.check_intermediate_certs(snaps)
    message = "cacerts has no ca-key.pem: istiod cannot sign workload certificates with the plugged-in CA"
    assert message in [e["message"] for e in errors(findings, cluster="cluster2")]
    assert not [f for f in findings if f["level"] == "ok"]
    snaps["cluster2"]["cacerts"]["format"] = "tls"
    assert "cacerts has no tls.key" in errors(certs.check_intermediate_certs(snaps), cluster="cluster2")[0]["message"]


# --- the trust graph (CA rotation) ---------------------------------------------------------------------------------------

def _rotating(n=2):
    """A mesh in a root rotation: every trust store holds the old root and the new one; cluster1 issues from the new root."""
    p = pki()
    new = p["foreign"]
    snaps = healthy(n)
    for name, snap in snaps.items():
        both = pem(p["root"][0]) + pem(new[0])
        snap["cacerts"]["root_cert"] = both
        snap["istio_ca_root_cert"] = both
        snap["spire"]["bundle"] = {"configmap": "spire-bundle", "pem": both}
        snap["spire"]["upstream_ca"]["bundle"] = both
    snaps["cluster1"]["cacerts"] = dict(cacerts(p["istio-foreign"], new), root_cert=pem(p["root"][0]) + pem(new[0]))
    return snaps


def test_a_rotation_in_progress_is_an_info_when_every_pair_verifies():
    findings = certs.check_intermediate_certs(_rotating())
    assert not errors(findings) and not warnings(findings)
    mesh = [f["message"] for f in findings if f["cluster"] is None]
    assert len(mesh) == 1 and mesh[0].startswith("rotation in progress: roots ")
    assert "'Foreign Root CA' (SHA256 " in mesh[0] and "'SPIRE Root CA' (SHA256 " in mesh[0]
    assert "cluster cluster1 has compatible intermediate certificates with cluster cluster2" in [f["message"] for f in findings]


def test_a_store_without_the_new_root_fails_the_pair_in_one_direction():
    snaps = _rotating()
    root_only = pem(pki()["root"][0])
    snaps["cluster2"]["istio_ca_root_cert"] = root_only
    snaps["cluster2"]["cacerts"]["root_cert"] = root_only
    findings = certs.check_intermediate_certs(snaps)
    errs = [f["message"] for f in errors(findings, cluster="cluster1")]
    assert errs == ["cluster cluster1 has incompatible intermediate certificates with cluster cluster2: cluster1 -> cluster2: the istiod chain "
                    "of cluster1 ('istio foreign' (SHA256 %s)) does not verify against the istiod root-cert.pem of cluster2, which trusts "
                    "['SPIRE Root CA' (SHA256 %s)]: cluster2 rejects cluster1" % (
                        fingerprint(pki()["istio-foreign"][0])[:16], fingerprint(pki()["root"][0])[:16])]
    # the other direction holds: cluster2's chains are from the old root, which cluster1 still trusts
    assert not errors(findings, cluster="cluster2")
    assert not [f for f in findings if f["message"].startswith("rotation in progress")]


def test_spire_keeping_the_old_root_is_reported():
    p = pki()
    snaps = healthy()
    for snap in snaps.values():
        snap["spire"]["bundle"] = {"configmap": "spire-bundle", "pem": pem(p["foreign"][0]) + pem(p["root"][0])}
    findings = certs.check_intermediate_certs(snaps)
    assert not errors(findings) and not warnings(findings)
    mesh = [f for f in findings if f["cluster"] is None]
    assert [f["level"] for f in mesh] == ["info"]
    assert mesh[0]["message"].startswith("SPIRE on cluster1, cluster2 still trusts root 'Foreign Root CA' (SHA256 %s) until it expires on " % (
        fingerprint(p["foreign"][0])[:16]))
