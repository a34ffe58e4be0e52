"""X.509 helpers: parse PEM, key/cert match, a Go crypto/x509-like chain verification, throwaway CAs."""

import datetime
import functools

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def load_certs(pem):
    """Every certificate of a PEM text ([] if none or unparsable)."""
    if isinstance(pem, str):
        pem = pem.encode()
    try:
        return x509.load_pem_x509_certificates(pem or b"")
    except ValueError:
        return []


def load_key(pem):
    """A private key from PEM, or None."""
    if isinstance(pem, str):
        pem = pem.encode()
    try:
        return serialization.load_pem_private_key(pem or b"", password=None)
    except (ValueError, TypeError):
        return None


def key_matches(cert, key):
    """Whether the certificate's public key is the key's."""
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def _valid_now(cert):
    moment = datetime.datetime.now(datetime.timezone.utc)
    return cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc


@functools.lru_cache(maxsize=4096)
def _issued_by(cert, issuer):
    """Whether issuer signed cert (memoized: certificates are immutable and hashable; the trust probe asks often)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # pylint: disable=broad-except  # InvalidSignature and friends
        return False
    return True


def verify(cert, intermediates, roots, depth=0):
    """Like Go's Certificate.Verify: True if cert chains (through intermediates) to one of roots, every certificate
    valid now. A certificate that is itself in roots verifies."""
    if depth > 8 or not _valid_now(cert):
        return False
    if any(cert == root for root in roots):
        return True
    for root in roots:
        if _issued_by(cert, root) and _valid_now(root):
            return True
    for inter in intermediates:
        if inter != cert and _issued_by(cert, inter) and verify(inter, [i for i in intermediates if i != inter], roots, depth + 1):
            return True
    return False


@functools.lru_cache(maxsize=8192)
def fingerprint(cert):
    """SHA-256 of the DER certificate, hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def der(cert):
    """DER bytes of a certificate."""
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert):
    """PEM text of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(common_name, issuer=None, issuer_key=None, pathlen=1, days=3650, seconds=None, organization="emulator", uri=None,
            backdate=300):
    """A CA certificate and its key (EC P-256, fast): self-signed when no issuer is given. Returns (cert, key).
    seconds (instead of days) sets a short lifetime; uri adds a URI SAN (SPIRE's CA carries spiffe://<trust domain>)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization), x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(seconds=backdate)
    end = now + datetime.timedelta(seconds=seconds) if seconds is not None else start + datetime.timedelta(days=days)
    if issuer is not None:
        # never outlive the issuer: certificates made in the same second would otherwise do it by a second
        end = min(end, issuer.not_valid_after_utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.subject if issuer else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key((issuer_key or key).public_key()), critical=False))
    if uri:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert, key


def subject_key_id(cert):
    """Hex of the Subject Key Identifier (SPIRE's authority IDs), computed from the key when the extension is absent."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest.hex()


def authority_key_id(cert):
    """Hex of the Authority Key Identifier ("" when absent)."""
    try:
        return (cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier or b"").hex()
    except x509.ExtensionNotFound:
        return ""


def common_name(cert):
    """The subject CN (or the whole subject) for messages."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return names[0].value if names else cert.subject.rfc4514_string()


def describe(cert):
    """'CN (sha256 prefix)' for status pages and probe failure reasons."""
    return "%s (%s)" % (common_name(cert), fingerprint(cert)[:12])


def key_pem(key):
    """PEM (PKCS#8) of a private key."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
