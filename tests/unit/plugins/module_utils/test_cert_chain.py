# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _cert_chain: fixtures are built with cryptography at test time."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _cert_chain, _x509

NOW = datetime.datetime(2026, 11, 29, 12, 0, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _pem(*certs):
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def make_cert(cn, key, issuer_cert=None, issuer_key=None, ca=True, pathlen=None, key_cert_sign=True,
              start=NOW - DAY, days=365, ski=True, aki=True, bc=True):
    """A certificate for ``key``; self-signed when no issuer is given."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert is not None else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days)))
    if bc:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen if ca else None), critical=True)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=not ca, content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=key_cert_sign, crl_sign=key_cert_sign, encipher_only=False, decipher_only=False), critical=True)
    if ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    signer_key = issuer_key if issuer_key is not None else key
    if aki:
        signer_pub = issuer_cert.public_key() if issuer_cert is not None else key.public_key()
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_pub), critical=False)
    return builder.sign(signer_key, hashes.SHA256())


class Tree(object):
    """Root + one intermediate per cluster, as the pki role writes them."""

    def __init__(self, clusters=("cluster1", "cluster2", "cluster3"), root_pathlen=2):
        self.root_key = _key()
        self.root = make_cert("SPIRE Root CA", self.root_key, pathlen=root_pathlen, days=3650)
        self.keys, self.cas = {}, {}
        for cluster in clusters:
            self.keys[cluster] = _key()
            self.cas[cluster] = make_cert("SPIRE %s CA" % cluster, self.keys[cluster], self.root, self.root_key, pathlen=1, days=1825)

    def args(self, cluster, with_key=True):
        return dict(cluster=cluster, root_pem=_pem(self.root), ca_cert_pem=_pem(self.cas[cluster]),
                    chain_pem=_pem(self.cas[cluster], self.root), key_pem=_key_pem(self.keys[cluster]) if with_key else None, now=NOW)


@pytest.fixture(scope="module")
def tree():
    return Tree()


def levels(findings, check=None):
    return [f["level"] for f in findings if check is None or f["check"] == check]


def errors(findings):
    return [f for f in findings if f["level"] == "error"]


def messages(findings, level="error"):
    return " | ".join(f["message"] for f in findings if f["level"] == level)


def test_healthy_three_cluster_tree(tree):
    for cluster in tree.cas:
        findings = _cert_chain.check_cluster_chain(**tree.args(cluster))
        assert not errors(findings), findings
        assert not [f for f in findings if f["level"] == "warning"], findings
        checks = set(f["check"] for f in findings)
        assert checks == set(["key_match", "root", "ca", "signature", "linkage", "pathlen", "validity", "chain_order"])
        assert all(f["cluster"] == cluster and set(f) >= set(["check", "cluster", "level", "message", "hint"]) for f in findings)
    shared = _cert_chain.check_shared_root(dict((c, _pem(tree.root)) for c in tree.cas))
    assert levels(shared) == ["info", "info", "info", "ok"]
    fp = _x509.sha256_fingerprint(tree.root)
    assert fp in shared[-1]["message"] and shared[-1]["cluster"] is None


def test_summary_and_worst(tree):
    findings = _cert_chain.check_cluster_chain(**tree.args("cluster1"))
    summary = _cert_chain.summary(findings)
    assert summary["level"] == "ok" and summary["error"] == 0 and summary["ok"] == len(findings)


def test_foreign_root_intermediate(tree):
    other_key = _key()
    other_root = make_cert("SPIRE Root CA", other_key, pathlen=2, days=3650)
    foreign_key = _key()
    foreign = make_cert("SPIRE cluster9 CA", foreign_key, other_root, other_key, pathlen=1)
    findings = _cert_chain.check_cluster_chain("cluster9", _pem(tree.root), _pem(foreign), _pem(foreign, other_root), _key_pem(foreign_key), now=NOW)
    assert "foreign root" in messages(findings)
    assert "error" in levels(findings, "signature")
    assert "error" in levels(findings, "linkage")  # AKI != root SKI
    assert "error" in levels(findings, "chain_order")  # last of chain is another root
    shared = _cert_chain.check_shared_root({"cluster1": _pem(tree.root), "cluster9": _pem(other_root)})
    assert shared[-1]["level"] == "error" and "do not share one root" in shared[-1]["message"]


def test_expired_intermediate(tree):
    key = _key()
    old = make_cert("SPIRE old CA", key, tree.root, tree.root_key, pathlen=1, start=NOW - 400 * DAY, days=30)
    findings = _cert_chain.check_cluster_chain("c", _pem(tree.root), _pem(old), _pem(old, tree.root), now=NOW)
    assert levels(findings, "validity") == ["error"]
    assert "expired on" in messages(findings)
    assert "ok" in levels(findings, "signature")


def test_expiry_warning_and_not_yet_valid(tree):
    key = _key()
    soon = make_cert("SPIRE soon CA", key, tree.root, tree.root_key, pathlen=1, days=40)
    findings = _cert_chain.check_cluster_chain("c", _pem(tree.root), _pem(soon), None, now=NOW, warning_days=90)
    assert levels(findings, "validity") == ["warning"] and "expires in 39 day(s)" in messages(findings, "warning")
    assert not errors(findings)
    assert "chain_order" not in set(f["check"] for f in findings)
    assert not [f for f in _cert_chain.check_cluster_chain("c", _pem(tree.root), _pem(soon), None, now=NOW, warning_days=10)
                if f["level"] != "ok"]
    future = make_cert("SPIRE future CA", key, tree.root, tree.root_key, pathlen=1, start=NOW + 10 * DAY)
    findings = _cert_chain.check_cluster_chain("c", _pem(tree.root), _pem(future), None, now=NOW)
    assert "not valid before" in messages(findings)


def test_outlives_issuer_warning(tree):
    key = _key()
    long_lived = make_cert("SPIRE long CA", key, tree.root, tree.root_key, pathlen=1, days=5000)
    findings = _cert_chain.check_cluster_chain("c", _pem(tree.root), _pem(long_lived), None, now=NOW)
    assert "after its issuer" in messages(findings, "warning")


def test_pathlen_violation():
    root_key = _key()
    root = make_cert("Root pathlen0", root_key, pathlen=0)
    key = _key()
    ca = make_cert("SPIRE c CA", key, root, root_key, pathlen=1)
    findings = _cert_chain.check_cluster_chain("c", _pem(root), _pem(ca), _pem(ca, root), _key_pem(key), now=NOW)
    assert levels(findings, "pathlen") == ["error"]
    assert "pathlen:0" in messages(findings)


def test_pathlen_three_levels():
    root_key, mid_key, ca_key = _key(), _key(), _key()
    root = make_cert("Root", root_key, pathlen=2)
    mid = make_cert("Upstream", mid_key, root, root_key, pathlen=1)
    ca = make_cert("Cluster CA", ca_key, mid, mid_key, pathlen=0)
    findings = _cert_chain.check_cluster_chain("c", _pem(root), _pem(ca), _pem(ca, mid, root), _key_pem(ca_key), now=NOW)
    assert not errors(findings), findings
    root2 = make_cert("Root", root_key, pathlen=1)  # Upstream and Cluster CA both follow it
    findings = _cert_chain.check_cluster_chain("c", _pem(root2), _pem(ca), _pem(ca, mid, root2), now=NOW)
    assert "error" in levels(findings, "pathlen")


def test_non_ca_intermediate(tree):
    key = _key()
    leaf = make_cert("leaf.example", key, tree.root, tree.root_key, ca=False, key_cert_sign=False)
    findings = _cert_chain.check_cluster_chain("c", _pem(tree.root), _pem(leaf), _pem(leaf, tree.root), _key_pem(key), now=NOW)
    ca_levels = levels(findings, "ca")
    assert ca_levels.count("error") == 2
    assert "a leaf certificate cannot sign" in messages(findings) and "keyCertSign" in messages(findings)
    no_bc = make_cert("nobc", key, tree.root, tree.root_key, bc=False)
    findings = _cert_chain.check_cluster_chain("c", _pem(tree.root), _pem(no_bc), None, now=NOW)
    assert "basicConstraints absent" in messages(findings)


def test_key_mismatch(tree):
    args = tree.args("cluster1")
    args["key_pem"] = _key_pem(tree.keys["cluster2"])
    findings = _cert_chain.check_cluster_chain(**args)
    assert levels(findings, "key_match") == ["error"]
    assert "does not match" in messages(findings)
    assert "PRIVATE KEY" not in repr(findings)
    args["key_pem"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    findings = _cert_chain.check_cluster_chain(**args)
    assert "truncated, corrupt" in messages(findings)
    args["key_pem"] = _pem(tree.root)
    assert "certificate where a private key" in messages(_cert_chain.check_cluster_chain(**args))


def test_swapped_chain(tree):
    args = tree.args("cluster1")
    args["chain_pem"] = _pem(tree.root, tree.cas["cluster1"])
    findings = _cert_chain.check_cluster_chain(**args)
    assert levels(findings, "chain_order") == ["error"]
    assert "wrong order" in messages(findings)
    assert "ok" in levels(findings, "signature")


def test_chain_with_other_first_or_missing_root(tree):
    args = tree.args("cluster1")
    args["chain_pem"] = _pem(tree.cas["cluster2"], tree.root)
    assert "instead of the signing CA" in messages(_cert_chain.check_cluster_chain(**args))
    args["chain_pem"] = _pem(tree.cas["cluster1"])
    assert "is not the root" in messages(_cert_chain.check_cluster_chain(**args))


def test_swapped_files_root_and_ca(tree):
    # ca-cert.pem and root-cert.pem exchanged
    findings = _cert_chain.check_cluster_chain("c", _pem(tree.cas["cluster1"]), _pem(tree.root), None, now=NOW)
    assert errors(findings)
    assert "not self-signed" in messages(findings, "warning")


@pytest.mark.parametrize("bad, expected", [
    ("", "empty"),
    ("hello world", "garbage"),
    ("-----BEGIN CERTIFICATE-----\nMIIB", "truncated"),
    ("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", "not a valid certificate"),
])
def test_garbage_and_truncated_pem(tree, bad, expected):
    for field in ("root_pem", "ca_cert_pem", "chain_pem"):
        args = tree.args("cluster1")
        args[field] = bad
        findings = _cert_chain.check_cluster_chain(**args)
        pem = [f for f in findings if f["check"] == "pem"]
        assert len(pem) == 1 and pem[0]["level"] == "error" and expected in pem[0]["message"], findings
        assert pem[0]["message"].startswith(field[:-4])


def test_truncated_real_certificate(tree):
    text = _pem(tree.root)
    findings = _cert_chain.check_cluster_chain("c", text[: len(text) // 2], _pem(tree.cas["cluster1"]), None, now=NOW)
    assert levels(findings) == ["error"] and "truncated" in findings[0]["message"]
    cut = text.replace(text.splitlines()[3], text.splitlines()[3][:20])
    findings = _cert_chain.check_cluster_chain("c", cut, _pem(tree.cas["cluster1"]), None, now=NOW)
    assert levels(findings) == ["error"] and findings[0]["check"] == "pem"


def test_root_is_the_signing_ca(tree):
    findings = _cert_chain.check_cluster_chain("root", _pem(tree.root), _pem(tree.root), _pem(tree.root), _key_pem(tree.root_key), now=NOW)
    assert not errors(findings) and not messages(findings, "warning"), findings


def test_shared_root_variants(tree):
    other = make_cert("Other Root", _key(), pathlen=2)
    findings = _cert_chain.check_shared_root({"a": _pem(tree.root), "b": _pem(tree.root, other)})
    assert findings[-1]["level"] == "warning"
    findings = _cert_chain.check_shared_root({"a": _pem(tree.root), "b": "garbage"})
    assert [f["level"] for f in findings] == ["info", "error", "ok"]
    assert any(f["cluster"] == "b" and f["level"] == "error" for f in findings)
    assert _cert_chain.check_shared_root({}) == []


def test_naive_now_and_finding_validation(tree):
    args = tree.args("cluster1")
    args["now"] = NOW.replace(tzinfo=None)
    assert not errors(_cert_chain.check_cluster_chain(**args))
    with pytest.raises(ValueError):
        _cert_chain.finding("x", "c", "fatal", "m")
