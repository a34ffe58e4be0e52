# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import cacerts, errors, healthy, pem, pki, warnings  # noqa: E402  pylint: disable=wrong-import-position

try:
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509, _cert_chain  # noqa: F401  pylint: disable=unused-import
    HAS_PKI = True
except ImportError:
    HAS_PKI = False

pytestmark = pytest.mark.skipif(not HAS_PKI, reason="pki module_utils (_x509, _cert_chain) not available yet")

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
    assert errs


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
    assert warnings(findings, cluster="cluster1") or errors(findings, cluster="cluster1")
