# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of _x509 (parsing helpers)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import hashlib

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509

NOW = datetime.datetime(2026, 11, 29, tzinfo=datetime.timezone.utc)


def _self_signed(cn, key, ca=True, pathlen=2):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(4242).not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=10))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen if ca else None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key, fmt=serialization.PrivateFormat.PKCS8, encryption=None):
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption or serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def material():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {"ec_key": ec_key, "rsa_key": rsa_key, "ec": _self_signed("EC Root", ec_key), "rsa": _self_signed("RSA Root", rsa_key)}


def test_load_several_in_order(material):
    text = "leading text\n" + _pem(material["ec"]) + "\n# comment\n" + _pem(material["rsa"])
    certs = _x509.load_pem_certificates(text)
    assert [_x509.subject(c) for c in certs] == ["CN=EC Root", "CN=RSA Root"]
    assert len(_x509.load_pem_certificates(text.encode())) == 2


@pytest.mark.parametrize("text, expected", [
    (None, "empty"),
    ("  \n", "empty"),
    ("just garbage", "garbage"),
    ("-----BEGIN CERTIFICATE-----\nMIIBkTCB+w==\n", "truncated"),
    ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----", "not a valid certificate"),
    ("-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----", "only PEM block(s) of type CERTIFICATE REQUEST"),
    (b"\x30\x82\x01\xff\xfe", "binary"),
])
def test_load_errors_are_value_errors(text, expected):
    with pytest.raises(ValueError) as exc:
        _x509.load_pem_certificates(text)
    assert isinstance(exc.value, _x509.PEMError)
    assert expected in str(exc.value)


def test_private_key_instead_of_certificate(material):
    with pytest.raises(_x509.PEMError, match="private key where a certificate"):
        _x509.load_pem_certificates(_key_pem(material["ec_key"]))


def test_sha256_fingerprint(material):
    cert = material["rsa"]
    fp = _x509.sha256_fingerprint(cert)
    assert fp == hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert fp == fp.lower() and len(fp) == 64 and ":" not in fp


def test_key_matches_certificate(material):
    assert _x509.key_matches_certificate(material["ec"], _key_pem(material["ec_key"]))
    assert _x509.key_matches_certificate(material["rsa"], _key_pem(material["rsa_key"], serialization.PrivateFormat.TraditionalOpenSSL))
    assert not _x509.key_matches_certificate(material["ec"], _key_pem(material["rsa_key"]))
    assert not _x509.key_matches_certificate(material["ec"], "garbage")
    assert not _x509.key_matches_certificate(material["ec"], None)


def test_load_private_key_errors(material):
    encrypted = _key_pem(material["ec_key"], encryption=serialization.BestAvailableEncryption(b"secret"))
    with pytest.raises(_x509.PEMError, match="encrypted"):
        _x509.load_private_key(encrypted)
    with pytest.raises(_x509.PEMError, match="certificate where a private key"):
        _x509.load_private_key(_pem(material["ec"]))
    with pytest.raises(_x509.PEMError) as exc:
        _x509.load_private_key("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n")
    assert "MIGHAgEA" not in str(exc.value)


def test_extension_helpers(material):
    cert = material["ec"]
    assert _x509.basic_constraints(cert) == (True, True, 2, True)
    assert _x509.key_usage(cert) is None
    assert _x509.subject_key_identifier(cert)
    assert _x509.authority_key_identifier(cert) is None
    assert _x509.is_self_issued(cert) and _x509.signature_verifies(cert, cert)
    assert not _x509.signature_verifies(cert, material["rsa"])
    info = _x509.describe(cert)
    assert info["serial"] == "1092" and info["ca"] and info["pathlen"] == 2 and info["sha256"] == _x509.sha256_fingerprint(cert)
    assert _x509.not_before(cert) == NOW and _x509.not_after(cert).tzinfo is not None
