# -*- coding: utf-8 -*-
"""The ca_rotation_plan lookup on a real files store: the current root from root-ca-bundle.pem, the new root of an interrupted
rotation read back from rotations/<id>/root/, the store's rotations refusing a new id; the inventory store's root variables."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store as store

_ROOTS = {}


def root(name):
    if name not in _ROOTS:
        cert, key = store.issue_root(name, 3650, key_options={'key_type': 'ECC'})
        _ROOTS[name] = (store.cert_pem(cert), store.key_pem(key), store.info(cert))
    return _ROOTS[name]


def info(cluster, root_info, state=None):
    cert = {'sha256': 'i' + cluster, 'not_after_epoch': 4000000000}
    return {'cluster': cluster, 'state': state, 'istio': {'present': True, 'certificate': cert, 'anchors': [root_info]},
            'spire': {'present': True, 'certificate': dict(cert, sha256='s' + cluster), 'anchors': [root_info]},
            'istiod': {'version': '1.25.5', 'multiroot': True, 'pods': []}, 'ztunnel': {'version': '1.25.5'},
            'spire_server': {'pod': 'spire-server-0', 'image': 'ghcr.io/spiffe/spire-server:1.11.2'}}


def plan(renderer, **options):
    lookup = lookup_loader.get('meshops.ambient_spire.ca_rotation_plan')
    return lookup.run([], {}, **options)[0]


@pytest.fixture
def tree(tmp_path):
    pki = tmp_path / 'pki'
    (pki / 'root').mkdir(parents=True)
    (pki / 'root-ca-bundle.pem').write_text(root('Root A')[0])
    return pki


def test_files_store_root_rotation_makes_its_root_once_and_resumes_with_it(renderer, tree):
    infos = {'c1': info('c1', root('Root A')[2]), 'c2': info('c2', root('Root A')[2])}
    base = dict(infos=infos, id='chg-9', scope='root', confirm_root=True, store='files', pki_dir=str(tree), mesh_hosts=['c1', 'c2'])
    first = plan(renderer, **base)
    assert first['action'] == 'start' and first['generate_root'] and first['root_from']['subject'] == 'Root A'
    assert first['paths']['new_root_cert'] == str(tree / 'rotations' / 'chg-9' / 'root' / 'root-ca.crt')
    assert first['store_state_next']['clusters'] == ['c1', 'c2'] and first['store_state_next']['root_to'] is None
    # the role records the rotation, then makes the root: the next plan resumes with it
    rotation = tree / 'rotations' / 'chg-9'
    (rotation / 'root').mkdir(parents=True)
    (rotation / 'state.json').write_text(json.dumps(first['store_state_next']))
    (rotation / 'root' / 'root-ca.crt').write_text(root('Root B')[0])
    second = plan(renderer, **base)
    assert second['action'] == 'resume' and not second['generate_root'] and second['root_to']['subject'] == 'Root B'
    assert second['states']['c1']['root_to']['sha256'] == root('Root B')[2]['sha256']
    assert second['root_to_pem'] == root('Root B')[0] and second['root_from_pem'] == root('Root A')[0]
    # another id while this one is unfinished: refused
    other_options = dict(base)
    other_options['id'] = 'chg-10'
    other = plan(renderer, **other_options)
    assert other['action'] == 'refuse' and other['errors'] == [
        "the CA rotation chg-9 is not finished (the PKI store): resume it with rotate_ca_id=chg-9 before starting chg-10"]


def test_inventory_store_takes_the_root_variables(renderer):
    a, b = root('Root A'), root('Root B')
    infos = {'c1': info('c1', a[2])}
    result = plan(renderer, infos=infos, id='chg-1', scope='root', confirm_root=True, store='inventory', root_ca_cert=a[0], new_root_cert=b[0])
    assert result['action'] == 'start' and result['root_to']['subject'] == 'Root B' and result['states']['c1']['root_to_pem'] == b[0]
    assert result['paths'] == {} and result['store_state_next'] is None
    result = plan(renderer, infos=infos, id='chg-1', scope='intermediates', store='inventory', root_ca_cert=b[0])
    assert result['action'] == 'refuse' and "do not hold the PKI store's root 'Root B'" in result['errors'][0]


def test_versions_refused_before_any_write(renderer):
    a = root('Root A')
    bad = dict(info('c1', a[2]), ztunnel={'version': '1.24.5'})
    result = plan(renderer, infos={'c1': bad}, id='chg-1', scope='intermediates', store='inventory', root_ca_cert=a[0])
    assert result['action'] == 'refuse' and result['errors'] == [
        "cluster c1: ztunnel 1.24.5 keeps one root only (several roots from 1.24.6, 1.25.3, 1.26.0): upgrade Istio first"]


def test_bad_input(renderer, tree):
    with pytest.raises(AnsibleLookupError, match='pki_dir is empty'):
        plan(renderer, infos={}, id='x', scope='intermediates', store='files')
    with pytest.raises(AnsibleLookupError, match='not a PEM certificate'):
        plan(renderer, infos={}, id='x', scope='root', store='inventory', root_ca_cert='garbage')
    with pytest.raises(AnsibleLookupError, match='options only'):
        lookup_loader.get('meshops.ambient_spire.ca_rotation_plan').run(['term'], {})
    assert sorted(os.listdir(str(tree))) == ['root', 'root-ca-bundle.pem']  # a lookup writes nothing
