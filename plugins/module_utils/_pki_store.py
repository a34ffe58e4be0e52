# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CA material of one cluster, kept or issued: the rules shared by both PKI stores and the CA rotation. PRIVATE.

Used by the modules ``pki_cluster_material`` (``pki_store: inventory``: the root comes from variables, each cluster's
intermediates are read back from the cluster) and ``ca_rotation_material`` (new intermediates during a rotation).

The material of a cluster is the data of its two Secrets, as PEM text:

- ``istio``: the istiod plug-in CA (Secret ``cacerts``): ``ca-cert.pem``, ``ca-key.pem``, ``cert-chain.pem``
  (ca-cert.pem and the certificates above it up to the root), ``root-cert.pem`` (the trust anchors);
- ``spire``: SPIRE's UpstreamAuthority ``disk`` (Secret ``spiffe-upstream-ca``): ``tls.crt`` (the intermediate),
  ``tls.key``, ``bundle.crt`` (the trust anchors).

Every PEM this module writes is canonical (cryptography's encoding, certificates concatenated): the same bytes the
``pki`` role writes into its tree, so that both stores and the rotation produce identical Secrets. Private keys never
leave through messages: errors name certificates by subject and SHA-256 only.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID
except ImportError:  # the callers check _x509.HAS_CRYPTOGRAPHY first
    pass

UTC = datetime.timezone.utc
KINDS = ('spire', 'istio')
# Secret data keys of each kind: (certificate, key, chain or None, trust anchors)
SECRET_KEYS = {
    'istio': ('ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem'),
    'spire': ('tls.crt', 'tls.key', None, 'bundle.crt'),
}
SECRET_NAMES = {'istio': 'cacerts', 'spire': 'spiffe-upstream-ca'}
# Certificates are backdated a little, so that a cluster whose clock is behind the controller's accepts them at once.
BACKDATE = datetime.timedelta(minutes=5)
DIGESTS = {'sha256': 'SHA256', 'sha384': 'SHA384', 'sha512': 'SHA512'}


class StoreError(ValueError):
    """Input that cannot be used: the message names the variable and the fix, never key material."""


# ---- PEM ---------------------------------------------------------------------------------------------------------------
def cert_pem(cert):
    """Canonical PEM of one certificate (ends with a newline)."""
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def certs_pem(certs):
    """Canonical PEM of several certificates, concatenated."""
    return ''.join(cert_pem(c) for c in certs)


def key_pem(key):
    """Unencrypted PKCS#8 PEM of a private key."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode('ascii')


def load_certs(text):
    """Every certificate of a PEM text ([] for empty or unparsable text)."""
    try:
        return _x509.load_pem_certificates(text) if text and str(text).strip() else []
    except _x509.PEMError:
        return []


def fingerprint(cert):
    """SHA-256 of the DER certificate (lowercase hex)."""
    return _x509.sha256_fingerprint(cert)


def common_name(cert):
    """The CN of a certificate, else its subject."""
    for attr in cert.subject:
        if attr.oid == NameOID.COMMON_NAME:
            return attr.value
    return _x509.subject(cert)


def describe(cert):
    """'<CN>' (SHA256 <first 16 hex>) - how messages name a certificate."""
    return "'%s' (SHA256 %s)" % (common_name(cert), fingerprint(cert)[:16])


def info(cert):
    """Public facts of a certificate for results and plans (never key material)."""
    return {'subject': common_name(cert), 'sha256': fingerprint(cert), 'subject_key_id': _x509.subject_key_identifier(cert) or '',
            'authority_key_id': _x509.authority_key_identifier(cert) or '', 'not_before': _x509.not_before(cert).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'not_after': _x509.not_after(cert).strftime('%Y-%m-%dT%H:%M:%SZ'), 'not_after_epoch': int(_x509.not_after(cert).timestamp())}


def contains(certs, cert):
    """Whether a certificate is among certs (same DER)."""
    return any(_x509.same_certificate(c, cert) for c in certs)


def unique(certs):
    """certs without repeats, in order."""
    out = []
    for cert in certs:
        if not contains(out, cert):
            out.append(cert)
    return out


# ---- chains -------------------------------------------------------------------------------------------------------------
def _valid(cert, now):
    return _x509.not_before(cert) <= now <= _x509.not_after(cert)


def chain_root(cert, intermediates, roots, now=None, depth=0):
    """The root of ``roots`` that ``cert`` chains to through ``intermediates`` (signatures and validity now), or None."""
    now = now or datetime.datetime.now(UTC)
    if depth > 8 or not _valid(cert, now):
        return None
    for root in roots:
        if _x509.same_certificate(cert, root):
            return root
    for root in roots:
        if _valid(root, now) and _x509.signature_verifies(cert, root):
            return root
    for inter in intermediates:
        if not _x509.same_certificate(inter, cert) and _x509.signature_verifies(cert, inter):
            found = chain_root(inter, [i for i in intermediates if not _x509.same_certificate(i, inter)], roots, now, depth + 1)
            if found is not None:
                return found
    return None


# ---- the signing CA (a root, or a CA brought in with the certificates above it) -------------------------------------------
class SigningCA(object):
    """A CA that signs intermediates: its certificate, its key, the certificates above it (ending with the root)."""

    def __init__(self, cert, key, chain=()):
        self.cert, self.key, self.chain = cert, key, list(chain)

    @property
    def upstream(self):
        """The signing CA followed by its chain: what follows an intermediate in chain files."""
        return [self.cert] + [c for c in self.chain if not _x509.same_certificate(c, self.cert)]

    @property
    def root(self):
        """The trust anchor: the last certificate of the upstream chain."""
        return self.upstream[-1]


def load_signing_ca(cert_text, key_text, chain_text='', names=('pki_root_ca_cert', 'pki_root_ca_key', 'pki_root_ca_chain'), now=None):
    """(SigningCA, []) or (None, [errors]): the variables given, parsed and checked (a CA, its key, a chain that verifies)."""
    cert_var, key_var, chain_var = names
    errors = []
    if not cert_text or not str(cert_text).strip():
        errors.append("%s is empty: set it to the PEM certificate of the root CA (keep it in Ansible Vault, or let the AWX credential "
                      "type 'PKI root CA (meshops.ambient_spire)' inject it)" % cert_var)
    if not key_text or not str(key_text).strip():
        errors.append("%s is empty: set it to the unencrypted PEM private key of %s (Ansible Vault, or the AWX credential)" % (key_var, cert_var))
    if errors:
        return None, errors
    try:
        certs = _x509.load_pem_certificates(cert_text)
    except _x509.PEMError as exc:
        return None, ["%s is not a PEM certificate: %s" % (cert_var, exc)]
    cert = certs[0]
    present, is_ca, pathlen, dummy = _x509.basic_constraints(cert)
    usage = _x509.key_usage(cert)
    if not is_ca or (usage is not None and not usage['key_cert_sign']):
        errors.append("%s is not a CA certificate: %s has %s%s; give the root CA (basicConstraints CA:TRUE, keyUsage keyCertSign)" % (
            cert_var, describe(cert), 'basicConstraints CA:FALSE' if present and not is_ca else
            ('no basicConstraints' if not present else 'basicConstraints CA:TRUE'),
            ' and no keyUsage keyCertSign' if usage is not None and not usage['key_cert_sign'] else ''))
    elif pathlen is not None and pathlen < 1:
        errors.append("%s has pathlen %d: it cannot sign the intermediates (they are CAs); give a root with pathlen 2 or none" % (cert_var, pathlen))
    now = now or datetime.datetime.now(UTC)
    if _x509.not_after(cert) < now:
        errors.append("%s %s expired on %s" % (cert_var, describe(cert), _x509.not_after(cert).date().isoformat()))
    try:
        key = _x509.load_private_key(key_text)
    except _x509.PEMError as exc:
        errors.append("%s: %s" % (key_var, exc))
        key = None
    if key is not None and not _x509.key_matches_certificate(cert, key_text):
        errors.append("%s does not match %s %s: give the key generated with that certificate" % (key_var, cert_var, describe(cert)))
    chain = certs[1:] + load_certs(chain_text)
    if chain_text and str(chain_text).strip() and not load_certs(chain_text):
        errors.append("%s is not PEM certificates" % chain_var)
    if not errors and chain and chain_root(cert, chain, [chain[-1]], now) is None:
        errors.append("%s %s does not chain to the last certificate of %s" % (cert_var, describe(cert), chain_var))
    if not errors and not chain and not (_x509.is_self_issued(cert) and _x509.signature_verifies(cert, cert)):
        errors.append("%s %s is not self-signed: give its issuers up to the root in %s" % (cert_var, describe(cert), chain_var))
    if errors:
        return None, errors
    return SigningCA(cert, key, chain), []


# ---- issuing ------------------------------------------------------------------------------------------------------------
def new_key(key_type='RSA', key_size=2048, key_curve='secp256r1'):
    """A new private key: RSA of key_size bits, or ECC on key_curve (secp256r1, secp384r1, secp521r1)."""
    if str(key_type).upper() == 'ECC':
        curves = {'secp256r1': ec.SECP256R1, 'secp384r1': ec.SECP384R1, 'secp521r1': ec.SECP521R1}
        if key_curve not in curves:
            raise StoreError("key curve %s is not supported: use one of %s" % (key_curve, ', '.join(sorted(curves))))
        return ec.generate_private_key(curves[key_curve]())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(key_size))


def issue_ca(signing, common, pathlen, days, key_options=None, digest='sha256', now=None, avoid_not_after=()):
    """(certificate, key) of a new CA signed by ``signing``: keyUsage keyCertSign+cRLSign and basicConstraints critical,
    SKI and AKI, valid ``days`` from now (not beyond the signing CA). ``avoid_not_after``: epochs the notAfter must
    differ from (istiod reports its CA by notAfter: a rotation's new CA must be told apart from the old one)."""
    options = dict(key_options or {})
    key = new_key(options.get('key_type', 'RSA'), options.get('key_size', 2048), options.get('key_curve', 'secp256r1'))
    now = (now or datetime.datetime.now(UTC)).replace(microsecond=0)
    not_after = min(now + datetime.timedelta(days=int(days)), _x509.not_after(signing.cert))
    taken = set(int(e) for e in avoid_not_after)
    while int(not_after.timestamp()) in taken:
        not_after -= datetime.timedelta(seconds=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(common))])
    public = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(signing.cert.subject).public_key(public)
               .serial_number(x509.random_serial_number()).not_valid_before(now - BACKDATE).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None if pathlen is None else int(pathlen)), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
    ski = _x509.subject_key_identifier(signing.cert)
    if ski:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(key_identifier=bytes.fromhex(ski), authority_cert_issuer=None,
                                                                    authority_cert_serial_number=None), critical=False)
    else:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing.cert.public_key()), critical=False)
    algorithm = getattr(hashes, DIGESTS.get(str(digest).lower(), 'SHA256'))()
    return builder.sign(signing.key, algorithm), key


def issue_root(common, days, pathlen=2, key_options=None, digest='sha256', now=None, key=None):
    """(certificate, key) of a new self-signed root CA; with ``key``, its certificate for that existing key."""
    options = dict(key_options or {})
    if key is None:
        key = new_key(options.get('key_type', 'RSA'), options.get('key_size', 2048), options.get('key_curve', 'secp256r1'))
    now = (now or datetime.datetime.now(UTC)).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(common))])
    public = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
               .serial_number(x509.random_serial_number()).not_valid_before(now - BACKDATE)
               .not_valid_after(now + datetime.timedelta(days=int(days)))
               .add_extension(x509.BasicConstraints(ca=True, path_length=int(pathlen)), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
    algorithm = getattr(hashes, DIGESTS.get(str(digest).lower(), 'SHA256'))()
    return builder.sign(key, algorithm), key


def issued_material(kind, signing, cert, key, anchors_pem):
    """The Secret data of a newly issued intermediate: the certificate, its key, the chain (istio), the trust anchors."""
    cert_key, key_key, chain_key, anchors_key = SECRET_KEYS[kind]
    data = {cert_key: cert_pem(cert), key_key: key_pem(key), anchors_key: anchors_pem}
    if chain_key:
        data[chain_key] = certs_pem([cert] + signing.upstream)
    return data


# ---- what a cluster holds --------------------------------------------------------------------------------------------------
def current(kind, data):
    """Parsed view of a Secret's data (PEM text per key; None when the Secret is missing): cert, chain, anchors, key_matches,
    problem (why it cannot be used as is, or None)."""
    if data is None:
        return None
    cert_key, key_key, chain_key, anchors_key = SECRET_KEYS[kind]
    certs = load_certs(data.get(cert_key))
    anchors = load_certs(data.get(anchors_key))
    chain = load_certs(data.get(chain_key)) if chain_key else certs[1:]
    view = {'kind': kind, 'data': data, 'cert': certs[0] if certs else None, 'chain': chain, 'anchors': anchors,
            'key_matches': None, 'problem': None}
    if not certs:
        view['problem'] = "%s has no PEM certificate" % cert_key
        return view
    key_text = data.get(key_key) or ''
    view['key_matches'] = bool(key_text.strip()) and _x509.key_matches_certificate(certs[0], key_text)
    if not key_text.strip():
        view['problem'] = "%s is missing" % key_key
    elif not view['key_matches']:
        view['problem'] = "%s does not match %s %s" % (key_key, cert_key, describe(certs[0]))
    elif not anchors:
        view['problem'] = "%s has no PEM certificate" % anchors_key
    return view


def expires_within(cert, seconds, now):
    """Whether the certificate expires within that many seconds from now."""
    return _x509.not_after(cert) <= now + datetime.timedelta(seconds=seconds)


def where(kind, cluster, namespace):
    """'cacerts (istio-system) of cluster c1' - how messages name a Secret."""
    return "Secret %s/%s of cluster %s" % (namespace, SECRET_NAMES[kind], cluster)


def keep_or_issue(kind, view, signing, cluster, namespace, options, now=None):
    """The install's rule (``pki_store: inventory``) for one Secret: keep what the cluster holds while it chains to the root and
    is not due, issue when it is missing or due. Returns (data, action, reason, error): action ``keep`` or ``issue``; error
    (refuse, nothing written) for material under another root, a key that does not match or a chain that does not verify."""
    now = now or datetime.datetime.now(UTC)
    cert_key, key_key, dummy, anchors_key = SECRET_KEYS[kind]
    label = where(kind, cluster, namespace)
    renew = int(options.get('renew_within_days', 30)) * 86400
    if view is None or (view['cert'] is None and not (view['data'].get(cert_key) or '').strip()):
        return _issue(kind, signing, options, now, [], 'missing')
    if view['cert'] is None:
        return None, None, None, "%s: %s; delete the Secret on purpose to issue a new intermediate" % (label, view['problem'])
    if view['anchors'] and not contains(view['anchors'], signing.root):
        return None, None, None, (
            "%s is under another root: its %s holds %s, but the PKI root (pki_root_ca_cert) is %s. It belongs to another mesh, or a "
            "finished root rotation moved it to a new root: set pki_root_ca_cert and pki_root_ca_key to the root it uses, or delete the "
            "Secret on purpose to issue a new intermediate" % (label, anchors_key, ', '.join(describe(c) for c in view['anchors']),
                                                               describe(signing.root)))
    if view['problem']:
        return None, None, None, "%s: %s; restore the key, or delete the Secret on purpose to issue a new intermediate" % (label, view['problem'])
    root = chain_root(view['cert'], view['chain'], view['anchors'], now)
    if root is None:
        return None, None, None, ("%s: %s %s does not chain to a root of its %s (or is expired); delete the Secret on purpose to issue a new "
                                  "intermediate from pki_root_ca_cert" % (label, cert_key, describe(view['cert']), anchors_key))
    if expires_within(view['cert'], renew, now):
        return _issue(kind, signing, options, now, [view['cert']], 'due: %s expires on %s (within pki_renew_within_days %d)' % (
            describe(view['cert']), _x509.not_after(view['cert']).date().isoformat(), renew // 86400))
    return dict(view['data']), 'keep', 'chains to %s, valid until %s' % (describe(root), _x509.not_after(view['cert']).date().isoformat()), None


def _issue(kind, signing, options, now, old, reason):
    cert, key = issue_ca(signing, options['%s_common_name' % kind], options['%s_pathlen' % kind], options['%s_days' % kind],
                         key_options=options, digest=options.get('digest', 'sha256'), now=now,
                         avoid_not_after=[int(_x509.not_after(c).timestamp()) for c in old])
    return issued_material(kind, signing, cert, key, cert_pem(signing.root)), 'issue', reason, None


def summary(kind, data):
    """Public description of a Secret's data: its certificate and its anchors (fingerprints, names, expiry)."""
    if not data:
        return None
    cert_key, dummy, dummy2, anchors_key = SECRET_KEYS[kind]
    certs = load_certs(data.get(cert_key))
    return {'certificate': info(certs[0]) if certs else None, 'anchors': [info(c) for c in load_certs(data.get(anchors_key))]}


def common_names(options, cluster):
    """The options with {cluster} replaced in the common names."""
    out = dict(options)
    for kind in KINDS:
        name = '%s_common_name' % kind
        out[name] = re.sub(r'\{cluster\}', str(cluster), str(out.get(name) or ('SPIRE {cluster} CA' if kind == 'spire' else 'Istio {cluster} CA')))
    return out
