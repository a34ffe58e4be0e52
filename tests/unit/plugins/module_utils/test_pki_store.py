# -*- coding: utf-8 -*-
"""The CA material rules shared by the inventory PKI store and the rotation: root variables, keep or issue, canonical PEM."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store as store
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509

OPTIONS = store.common_names({'spire_common_name': 'SPIRE {cluster} CA', 'spire_pathlen': 1, 'spire_days': 1825,
                              'istio_common_name': 'Istio {cluster} CA', 'istio_pathlen': 0, 'istio_days': 1825,
                              'renew_within_days': 30, 'key_type': 'ECC', 'key_curve': 'secp256r1'}, 'east')
_CACHE = {}


def root(name='Root A'):
    """(SigningCA, cert PEM, key PEM) of a self-signed root (cached: keys are slow to make)."""
    if name not in _CACHE:
        cert, key = store.issue_root(name, 3650, key_options={'key_type': 'ECC'})
        ca, errors = store.load_signing_ca(store.cert_pem(cert), store.key_pem(key))
        assert errors == []
        _CACHE[name] = (ca, store.cert_pem(cert), store.key_pem(key))
    return _CACHE[name]


def test_root_variables_are_refused_with_the_variable_and_the_fix():
    ca, cert, key = root()
    other = root('Root X')
    assert store.load_signing_ca('', '')[1] == [
        "pki_root_ca_cert is empty: set it to the PEM certificate of the root CA (keep it in Ansible Vault, or let the AWX credential type "
        "'PKI root CA (meshops.ambient_spire)' inject it)",
        "pki_root_ca_key is empty: set it to the unencrypted PEM private key of pki_root_ca_cert (Ansible Vault, or the AWX credential)"]
    assert store.load_signing_ca('garbage', key)[1][0].startswith("pki_root_ca_cert is not a PEM certificate")
    mismatch = store.load_signing_ca(cert, other[2])[1]
    assert mismatch == ["pki_root_ca_key does not match pki_root_ca_cert 'Root A' (SHA256 %s): give the key generated with that certificate"
                        % store.fingerprint(ca.cert)[:16]]
    assert "PRIVATE" not in " ".join(mismatch)
    # an intermediate (pathlen 0) cannot sign the intermediates; a leaf is not a CA
    data = store.keep_or_issue('istio', None, ca, 'east', 'istio-system', OPTIONS)[0]
    errors = store.load_signing_ca(data['ca-cert.pem'], data['ca-key.pem'])[1]
    assert errors == ["pki_root_ca_cert has pathlen 0: it cannot sign the intermediates (they are CAs); give a root with pathlen 2 or none"]


def test_missing_material_is_issued_under_the_root_with_canonical_pem():
    ca, cert, dummy = root()
    data, action, reason, error = store.keep_or_issue('istio', None, ca, 'east', 'istio-system', OPTIONS)
    assert (action, reason, error) == ('issue', 'missing', None)
    assert data['root-cert.pem'] == cert
    issued = _x509.load_pem_certificates(data['ca-cert.pem'])[0]
    assert store.common_name(issued) == 'Istio east CA' and _x509.basic_constraints(issued)[1:3] == (True, 0)
    assert data['cert-chain.pem'] == data['ca-cert.pem'] + cert
    assert _x509.key_matches_certificate(issued, data['ca-key.pem'])
    assert store.chain_root(issued, [], [ca.cert]) is not None
    spire = store.keep_or_issue('spire', None, ca, 'east', 'spire-server', OPTIONS)[0]
    assert sorted(spire) == ['bundle.crt', 'tls.crt', 'tls.key'] and spire['bundle.crt'] == cert
    assert _x509.basic_constraints(_x509.load_pem_certificates(spire['tls.crt'])[0])[2] == 1


def test_what_the_cluster_holds_is_kept_until_it_is_due():
    ca = root()[0]
    data = store.keep_or_issue('istio', None, ca, 'east', 'istio-system', OPTIONS)[0]
    kept, action, reason, error = store.keep_or_issue('istio', store.current('istio', data), ca, 'east', 'istio-system', OPTIONS)
    assert (action, error) == ('keep', None) and kept == data and reason.startswith("chains to 'Root A'")
    # due within the renewal window: issued again, with another notAfter
    later = datetime.datetime.now(store.UTC) + datetime.timedelta(days=1825 - 10)
    renewed, action, reason, error = store.keep_or_issue('istio', store.current('istio', data), ca, 'east', 'istio-system', OPTIONS, now=later)
    assert action == 'issue' and reason.startswith("due: 'Istio east CA'") and renewed['ca-cert.pem'] != data['ca-cert.pem']


def test_material_under_another_root_or_with_a_wrong_key_is_refused():
    ca, other = root()[0], root('Root X')[0]
    data = store.keep_or_issue('istio', None, other, 'east', 'istio-system', OPTIONS)[0]
    error = store.keep_or_issue('istio', store.current('istio', data), ca, 'east', 'istio-system', OPTIONS)[3]
    assert error.startswith("Secret istio-system/cacerts of cluster east is under another root: its root-cert.pem holds 'Root X'")
    assert "set pki_root_ca_cert and pki_root_ca_key to the root it uses" in error
    mine = store.keep_or_issue('istio', None, ca, 'east', 'istio-system', OPTIONS)[0]
    broken = dict(mine, **{'ca-key.pem': data['ca-key.pem']})
    error = store.keep_or_issue('istio', store.current('istio', broken), ca, 'east', 'istio-system', OPTIONS)[3]
    assert "ca-key.pem does not match ca-cert.pem" in error and "PRIVATE" not in error


def test_issue_ca_avoids_a_given_not_after():
    ca = root()[0]
    now = datetime.datetime(2026, 1, 1, tzinfo=store.UTC)
    first = store.issue_ca(ca, 'x', 0, 10, key_options={'key_type': 'ECC'}, now=now)[0]
    second = store.issue_ca(ca, 'x', 0, 10, key_options={'key_type': 'ECC'}, now=now,
                            avoid_not_after=[int(_x509.not_after(first).timestamp())])[0]
    assert _x509.not_after(second) < _x509.not_after(first)


@pytest.mark.parametrize('curve', ['secp999r1'])
def test_unknown_curve(curve):
    with pytest.raises(store.StoreError, match='not supported'):
        store.new_key('ECC', key_curve=curve)
