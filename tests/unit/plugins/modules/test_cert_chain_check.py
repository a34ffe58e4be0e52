# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the cert_chain_check module: main() with patched arguments, fixtures written to tmp_path."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json

import pytest

from ansible.module_utils.testing import patch_module_args
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.meshops.ambient_spire.plugins.modules import cert_chain_check

NOW = datetime.datetime.now(datetime.timezone.utc)


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(cn, key, issuer=None, issuer_key=None, pathlen=1, days=365):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer is not None else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(hours=1)).not_valid_after(NOW + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()), critical=False)
    return builder.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())


def _pem(*certs):
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def pki():
    root_key = _key()
    root = _cert("SPIRE Root CA", root_key, pathlen=2, days=3650)
    data = {"root": root, "root_key": root_key, "cas": {}, "keys": {}}
    for cluster in ("cluster1", "cluster2", "cluster3"):
        key = _key()
        data["keys"][cluster] = key
        data["cas"][cluster] = _cert("Istio %s CA" % cluster, key, root, root_key, pathlen=0, days=1825)
    return data


def write_tree(base, pki):
    """Files as the pki role lays them out (istio part only)."""
    items = []
    (base / "root-ca-bundle.pem").write_text(_pem(pki["root"]))
    for cluster, ca in pki["cas"].items():
        folder = base / cluster
        folder.mkdir()
        (folder / "ca-cert.pem").write_text(_pem(ca))
        (folder / "cert-chain.pem").write_text(_pem(ca, pki["root"]))
        (folder / "ca-key.pem").write_text(_key_pem(pki["keys"][cluster]))
        items.append({"name": cluster, "root_path": str(base / "root-ca-bundle.pem"), "ca_cert_path": str(folder / "ca-cert.pem"),
                      "chain_path": str(folder / "cert-chain.pem"), "key_path": str(folder / "ca-key.pem")})
    return items


def run_main(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            cert_chain_check.main()
    out = capsys.readouterr().out
    return exc.value.code, json.loads(out), out


def test_healthy_tree_from_paths(tmp_path, pki, capsys):
    rc, result, raw = run_main({"clusters": write_tree(tmp_path, pki)}, capsys)
    assert rc == 0 and not result.get("failed") and result["changed"] is False
    assert result["shared_root"] is True
    assert result["summary"]["error"] == 0 and result["summary"]["level"] == "ok"
    fps = set(result["root_fingerprints"].values())
    assert len(fps) == 1 and len(fps.pop()) == 64
    assert set(result["clusters"]) == {"cluster1", "cluster2", "cluster3"}
    assert result["clusters"]["cluster2"]["ca"]["subject"] == "CN=Istio cluster2 CA"
    assert result["clusters"]["cluster2"]["ca"]["pathlen"] == 0
    assert "PRIVATE KEY" not in raw


def test_pem_input_check_mode_and_no_key_echo(pki, capsys):
    key_pem = _key_pem(pki["keys"]["cluster1"])
    args = {"clusters": [{"name": "cluster1", "root_pem": _pem(pki["root"]), "ca_cert_pem": _pem(pki["cas"]["cluster1"]),
                          "chain_pem": _pem(pki["cas"]["cluster1"], pki["root"]), "key_pem": key_pem}],
            "_ansible_check_mode": True}
    rc, result, raw = run_main(args, capsys)
    assert rc == 0 and result["summary"]["level"] == "ok"
    assert key_pem.splitlines()[1] not in raw


def test_errors_fail_unless_told_otherwise(tmp_path, pki, capsys):
    items = write_tree(tmp_path, pki)
    items[1]["key_path"] = items[2]["key_path"]  # key mismatch on cluster2
    (tmp_path / "cluster3" / "cert-chain.pem").write_text(_pem(pki["root"], pki["cas"]["cluster3"]))  # swapped chain
    rc, result, raw = run_main({"clusters": items}, capsys)
    assert rc == 1 and result["failed"]
    assert "2 certificate chain error(s)" in result["msg"]
    assert "cluster2: the private key does not match" in result["msg"] and "cluster3: the chain is in the wrong order" in result["msg"]
    assert result["clusters"]["cluster1"]["level"] == "ok" and result["clusters"]["cluster2"]["level"] == "error"
    assert "PRIVATE KEY" not in raw
    rc, result, raw = run_main({"clusters": items, "fail_on_error": False}, capsys)
    assert rc == 0 and not result.get("failed") and result["summary"]["error"] == 2


def test_foreign_root_and_garbage(tmp_path, pki, capsys):
    other_key = _key()
    other = _cert("SPIRE Root CA", other_key, pathlen=2)
    args = {"clusters": [
        {"name": "a", "root_pem": _pem(pki["root"]), "ca_cert_pem": _pem(pki["cas"]["cluster1"])},
        {"name": "b", "root_pem": _pem(other), "ca_cert_pem": _pem(pki["cas"]["cluster2"])},
        {"name": "c", "root_pem": "-----BEGIN CERTIFICATE-----\nMIIB", "ca_cert_pem": "garbage"},
    ], "fail_on_error": False}
    rc, result, raw = run_main(args, capsys)
    assert rc == 0 and result["shared_root"] is False
    assert result["root_fingerprints"]["c"] is None
    messages = [f["message"] for f in result["findings"] if f["level"] == "error"]
    assert any("foreign root" in m for m in messages)
    assert any(m.startswith("root: truncated PEM") for m in messages) and any(m.startswith("ca_cert: garbage") for m in messages)
    assert any("do not share one root" in m for m in messages)


def test_missing_file_and_duplicates(tmp_path, pki, capsys):
    args = {"clusters": [{"name": "a", "root_path": str(tmp_path / "nope.pem"), "ca_cert_pem": _pem(pki["cas"]["cluster1"])}]}
    rc, result, raw = run_main(args, capsys)
    assert rc == 1 and "cannot read root_path" in result["msg"] and result["findings"][0]["check"] == "input"
    args = {"clusters": [{"name": "a", "root_pem": "x", "ca_cert_pem": "x"}, {"name": "a", "root_pem": "x", "ca_cert_pem": "x"}]}
    rc, result, raw = run_main(args, capsys)
    assert rc == 1 and "duplicate name(s) a" in result["msg"]


def test_expiry_warning(pki, capsys, monkeypatch):
    # Record module.warn() calls directly: once ansible's controller code is imported in the same
    # process (other unit tests do), warnings no longer land in the module's JSON result.
    emitted = []
    monkeypatch.setattr(cert_chain_check.AnsibleModule, "warn", lambda self, msg: emitted.append(msg))
    key = _key()
    soon = _cert("SPIRE soon CA", key, pki["root"], pki["root_key"], days=10)
    args = {"clusters": [{"name": "a", "root_pem": _pem(pki["root"]), "ca_cert_pem": _pem(soon)}], "warning_days": 30}
    rc, result, raw = run_main(args, capsys)
    assert rc == 0 and result["summary"]["warning"] == 1
    assert any("expires in" in w for w in emitted)


def test_argument_errors(capsys):
    rc, result, raw = run_main({"clusters": [{"name": "a", "root_pem": "x", "root_path": "/x", "ca_cert_pem": "x"}]}, capsys)
    assert rc == 1 and "mutually exclusive" in result["msg"]
    rc, result, raw = run_main({"clusters": [{"name": "a", "root_pem": "x"}]}, capsys)
    assert rc == 1 and "one of the following is required" in result["msg"]
