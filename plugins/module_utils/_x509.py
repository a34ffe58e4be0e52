# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""X.509 parsing helpers over the cryptography library.

This module util is PRIVATE to the collection. It can have breaking changes at any time.
Public names used across the collection: ``load_pem_certificates``, ``sha256_fingerprint``,
``key_matches_certificate``, ``load_private_key`` and ``PEMError``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re
import traceback

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtensionOID
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

UTC = datetime.timezone.utc

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_BEGIN_CERT = "-----BEGIN CERTIFICATE-----"
_END_CERT = "-----END CERTIFICATE-----"


class PEMError(ValueError):
    """Raised on PEM text that is empty, truncated, garbage or of the wrong kind."""


def _to_text(data):
    if data is None:
        return ""
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise PEMError("not PEM text: the data is binary (DER?), expected '%s'" % _BEGIN_CERT)
    return str(data)


def load_pem_certificates(text):
    """Parse every certificate of a PEM text, in order.

    Raises ``PEMError`` (a ``ValueError``) with a readable message on empty input, garbage,
    a truncated block, a private key or CSR instead of a certificate, or a block whose content
    is not a DER certificate.
    """
    text = _to_text(text)
    if not text.strip():
        raise PEMError("empty: no PEM certificate found")
    begins = text.count(_BEGIN_CERT)
    ends = text.count(_END_CERT)
    blocks = [(m.group(1), m.group(2)) for m in _PEM_BLOCK.finditer(text)]
    certs = [body for kind, body in blocks if kind == "CERTIFICATE"]
    if begins != ends or begins != len(certs):
        raise PEMError("truncated PEM: %d '%s' line(s) but %d complete certificate block(s)" % (begins, _BEGIN_CERT, len(certs)))
    if not certs:
        kinds = sorted(set(kind for kind, body in blocks))
        if any("PRIVATE KEY" in kind for kind in kinds):
            raise PEMError("found a private key where a certificate was expected")
        if kinds:
            raise PEMError("no certificate found, only PEM block(s) of type %s" % ", ".join(kinds))
        raise PEMError("garbage: no PEM certificate found (expected '%s')" % _BEGIN_CERT)
    result = []
    for index, body in enumerate(certs):
        pem = "%s%s%s\n" % (_BEGIN_CERT, body, _END_CERT)
        try:
            result.append(x509.load_pem_x509_certificate(pem.encode("ascii")))
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise PEMError("certificate #%d is not a valid certificate (corrupt or truncated base64): %s" % (index + 1, exc))
    return result


def load_private_key(key_pem):
    """Parse an unencrypted PEM private key; ``PEMError`` on anything else."""
    text = _to_text(key_pem)
    if not text.strip():
        raise PEMError("empty: no PEM private key found")
    if "PRIVATE KEY-----" not in text:
        if _BEGIN_CERT in text:
            raise PEMError("found a certificate where a private key was expected")
        raise PEMError("garbage: no PEM private key found")
    try:
        return serialization.load_pem_private_key(text.encode("utf-8"), password=None)
    except TypeError:
        raise PEMError("the private key is encrypted; only unencrypted keys can be checked")
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        # never include the exception text: it could echo key material
        raise PEMError("the private key is truncated, corrupt or of an unsupported type")


def _public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches_certificate(cert, key_pem):
    """Whether the PEM private key belongs to the certificate (False on an unreadable key)."""
    try:
        key = load_private_key(key_pem)
    except PEMError:
        return False
    return _public_der(key.public_key()) == _public_der(cert.public_key())


def sha256_fingerprint(cert):
    """SHA-256 of the DER certificate, lowercase hex without separators."""
    return cert.fingerprint(hashes.SHA256()).hex()


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def same_certificate(a, b):
    return der(a) == der(b)


def not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=UTC)


def not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=UTC)


def subject(cert):
    return cert.subject.rfc4514_string() or "(empty subject)"


def issuer(cert):
    return cert.issuer.rfc4514_string() or "(empty issuer)"


def _extension(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def basic_constraints(cert):
    """``(present, ca, path_length, critical)``."""
    ext = _extension(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if ext is None:
        return False, False, None, False
    return True, bool(ext.value.ca), ext.value.path_length, ext.critical


def key_usage(cert):
    """``None`` when absent, else a dict with ``key_cert_sign``, ``crl_sign``, ``critical``."""
    ext = _extension(cert, ExtensionOID.KEY_USAGE)
    if ext is None:
        return None
    return {"key_cert_sign": ext.value.key_cert_sign, "crl_sign": ext.value.crl_sign, "critical": ext.critical}


def subject_key_identifier(cert):
    ext = _extension(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    return ext.value.digest.hex() if ext is not None else None


def authority_key_identifier(cert):
    ext = _extension(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if ext is None or ext.value.key_identifier is None:
        return None
    return ext.value.key_identifier.hex()


def is_self_issued(cert):
    return cert.subject == cert.issuer


def signature_verifies(cert, issuer_cert):
    """Whether ``cert`` names ``issuer_cert`` as issuer and its signature verifies with that key."""
    try:
        cert.verify_directly_issued_by(issuer_cert)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def describe(cert):
    """Public metadata of a certificate (never key material)."""
    present, ca, pathlen, dummy = basic_constraints(cert)
    return {
        "subject": subject(cert),
        "issuer": issuer(cert),
        "serial": "%x" % cert.serial_number,
        "not_before": not_before(cert).isoformat(),
        "not_after": not_after(cert).isoformat(),
        "sha256": sha256_fingerprint(cert),
        "ca": ca,
        "pathlen": pathlen,
        "subject_key_identifier": subject_key_identifier(cert),
        "authority_key_identifier": authority_key_identifier(cert),
    }
