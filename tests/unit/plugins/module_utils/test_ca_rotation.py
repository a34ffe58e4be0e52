# -*- coding: utf-8 -*-
"""The rotation's plan (start, resume, finished, refusals), its gates and its precheck, as pure functions."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _ca_rotation as rot

ROOT_A = {'subject': 'Root A', 'sha256': 'a' * 64}
ROOT_B = {'subject': 'Root B', 'sha256': 'b' * 64}
NOW = 1900000000


def info(cluster, anchors=(ROOT_A,), state=None, expires=NOW + 400 * 86400, ztunnel='1.25.5-patch1', istiod='1.25.5-patch1',
         spire='ghcr.io/spiffe/spire-server:1.11.2'):
    cert = {'sha256': cluster * 10, 'not_after_epoch': expires}
    return {'cluster': cluster, 'state': state,
            'istio': {'present': True, 'certificate': dict(cert, sha256='i' + cluster), 'anchors': list(anchors)},
            'spire': {'present': True, 'certificate': dict(cert, sha256='s' + cluster), 'anchors': list(anchors)},
            'istiod': {'version': istiod, 'multiroot': True, 'pods': []}, 'ztunnel': {'version': ztunnel},
            'spire_server': {'pod': 'spire-server-0', 'image': spire}}


def options(**kw):
    base = {'id': 'chg-1', 'scope': 'intermediates', 'batch': 1, 'now': NOW, 'now_iso': 'now', 'root': ROOT_A, 'store': 'files'}
    base.update(kw)
    return base


def infos(*clusters, **kw):
    return dict((c, info(c, **kw)) for c in clusters)


def test_options_are_refused_with_the_variable():
    assert rot.validate_options(options(scope='root')) == [
        "rotate_ca_scope=root replaces the root of the whole mesh: set rotate_ca_confirm_root=true to confirm"]
    assert rot.validate_options(options(id='')) and rot.validate_options(options(id='a/b'))
    assert "rotate_ca_batch must be a number of clusters >= 1, not 0" in rot.validate_options(options(batch=0))
    assert rot.validate_options(options(scope='root', confirm_root=True, expiring_within_days=3)) == [
        "rotate_ca_expiring_within_days applies to rotate_ca_scope=intermediates only"]
    plan = rot.plan(infos('c1'), options(scope='everything'))
    assert plan['action'] == 'refuse' and plan['states'] == {}


def test_an_intermediate_rotation_starts_on_every_cluster():
    plan = rot.plan(infos('c1', 'c2'), options())
    assert plan['action'] == 'start' and plan['errors'] == [] and plan['hosts'] == ['c1', 'c2']
    assert plan['phases'] == {'issue': ['c1', 'c2']} and plan['root_to'] == ROOT_A
    assert plan['states']['c2'] == {'id': 'chg-1', 'scope': 'intermediates', 'clusters': ['c1', 'c2'], 'started': 'now', 'finished': None,
                                    'root_from': ROOT_A, 'root_to': ROOT_A, 'root_to_pem': None, 'before': {'istio': 'ic2', 'spire': 'sc2'},
                                    'after': {}, 'phases': {'issue': 'pending'}}
    assert "  c1: cacerts ca-cert.pem ic1 -> new (from aaaaaaaaaaaaaaaa); spiffe-upstream-ca tls.crt sc1 -> new" in "\n".join(plan['lines'])


def test_a_root_rotation_covers_the_whole_mesh_and_makes_its_root_once():
    plan = rot.plan(infos('c1'), options(scope='root', confirm_root=True, mesh_hosts=['c1', 'c2']))
    assert plan['errors'] == ["a root rotation covers every cluster of the mesh: c2 is left out (target_clusters/--limit)"]
    plan = rot.plan(infos('c1', 'c2'), options(scope='root', confirm_root=True, mesh_hosts=['c1', 'c2']))
    assert plan['action'] == 'start' and plan['generate_root'] and plan['root_to'] is None
    assert plan['phases'] == {'trust': ['c1', 'c2'], 'issue': ['c1', 'c2'], 'drop': ['c1', 'c2']}
    plan = rot.plan(infos('c1', 'c2'), options(scope='root', confirm_root=True, new_root=ROOT_B, new_root_pem='B'))
    assert not plan['generate_root'] and plan['states']['c1']['root_to'] == ROOT_B and plan['states']['c1']['root_to_pem'] == 'B'


def test_resume_leaves_out_what_is_done_and_keeps_the_root():
    state = rot.new_state('chg-1', 'root', ['c1', 'c2'], ROOT_A, ROOT_B, 'B', {'istio': 'old', 'spire': 'old'}, 't0')
    done = rot.with_phase_done(rot.with_phase_done(state, 'trust'), 'issue', {'istio': 'new'})
    mesh = {'c1': info('c1', anchors=(ROOT_A, ROOT_B), state=done), 'c2': info('c2', anchors=(ROOT_A, ROOT_B), state=rot.with_phase_done(state, 'trust'))}
    plan = rot.plan(mesh, options(scope='root', confirm_root=True))
    assert plan['action'] == 'resume' and plan['phases'] == {'trust': [], 'issue': ['c2'], 'drop': ['c1', 'c2']}
    assert plan['before'] == {'c1': {'istio': 'old', 'spire': 'old'}, 'c2': {'istio': 'old', 'spire': 'old'}}
    assert plan['root_to'] == ROOT_B and not plan['generate_root'] and plan['states'] == {}
    assert "phase 1/3 (trust: the new root joins every trust store): done" in plan['lines']
    # another root than the one it started with: refused, never a third root
    other = {'subject': 'Root C', 'sha256': 'c' * 64}
    plan = rot.plan(mesh, options(scope='root', confirm_root=True, new_root=other))
    assert plan['action'] == 'refuse' and "a rotation never makes a third root" in plan['errors'][0]
    # a cut-off start: the store knows the rotation, the clusters do not yet
    plan = rot.plan(infos('c1', 'c2'), options(scope='root', confirm_root=True, new_root=ROOT_B, new_root_pem='B'),
                    store_state={'chg-1': dict(state, root_to=None, root_to_pem=None)})
    assert plan['action'] == 'resume' and sorted(plan['states']) == ['c1', 'c2'] and plan['states']['c1']['root_to'] == ROOT_B


def test_finished_and_other_rotations():
    state = rot.finished(rot.with_phase_done(rot.new_state('chg-1', 'intermediates', ['c1'], ROOT_A, ROOT_A, None, {}, 't0'), 'issue'), 't1')
    plan = rot.plan({'c1': info('c1', state=state)}, options())
    assert plan['action'] == 'finished' and plan['phases'] == {} and plan['lines'] == ["rotation chg-1 (intermediates) finished on c1: nothing to do"]
    # a new id after a finished one starts
    assert rot.plan({'c1': info('c1', state=state)}, options(id='chg-2'))['action'] == 'start'
    # a new id while one is unfinished is refused, naming it
    running = rot.new_state('chg-1', 'intermediates', ['c1'], ROOT_A, ROOT_A, None, {}, 't0')
    plan = rot.plan({'c1': info('c1', state=running)}, options(id='chg-2'))
    assert plan['errors'] == ["the CA rotation chg-1 is not finished (c1): resume it with rotate_ca_id=chg-1 before starting chg-2"]
    plan = rot.plan(infos('c1'), options(id='chg-2'), store_state={'chg-1': running})
    assert "(the PKI store)" in plan['errors'][0]


def test_clusters_under_another_root_or_unread_are_refused():
    plan = rot.plan({'c1': info('c1', anchors=(ROOT_B,))}, options())
    assert plan['errors'][0].startswith("cluster c1: the trust anchors of Secret cacerts ('Root B'")
    plan = rot.plan({'c1': info('c1', anchors=(ROOT_A, ROOT_B))}, options())
    assert "trusts several roots" in plan['errors'][0]
    plan = rot.plan({'c1': dict(info('c1'), error='GET failed')}, options())
    assert plan['errors'] == ["cluster c1 cannot be read: GET failed"]


def test_only_what_expires_soon_is_rotated():
    mesh = {'c1': info('c1', expires=NOW + 10 * 86400), 'c2': info('c2')}
    plan = rot.plan(mesh, options(expiring_within_days=30))
    assert plan['hosts'] == ['c1'] and plan['states']['c1']['clusters'] == ['c1']
    plan = rot.plan(mesh, options(expiring_within_days=5))
    assert plan['action'] == 'nothing_due' and plan['states'] == {}


@pytest.mark.parametrize('ztunnel,istiod,spire,expected', [
    ('1.25.5-patch1', '1.25.5', 'ghcr.io/spiffe/spire-server:1.11.2', []),
    ('1.25.2', '1.25.5', 'ghcr.io/spiffe/spire-server:1.11.2', ['ztunnel 1.25.2 keeps one root only']),
    ('1.26.0', '1.24.4', 'ghcr.io/spiffe/spire-server:1.11.2', ['istiod 1.24.4 does not push several roots']),
    ('1.27.3', '1.27.3', 'ghcr.io/spiffe/spire-server:1.10.4', ['SPIRE server 1.10.4 lacks']),
])
def test_precheck_versions(ztunnel, istiod, spire, expected):
    errors = rot.precheck({'c1': info('c1', ztunnel=ztunnel, istiod=istiod, spire=spire)})
    assert len(errors) == len(expected) and all(e in errors[i] for i, e in enumerate(expected)), errors


def test_gates():
    info_ = {'root_configmaps': {'default': ['a', 'b'], 'kube-system': ['a']}, 'spire_bundle': ['a'],
             'istiod': {'pods': [{'name': 'istiod-1', 'ready': True, 'ca_not_after': 10}]},
             'workloads': [{'kind': 'DaemonSet', 'namespace': 'istio-system', 'name': 'ztunnel', 'rolling': False,
                            'pods': [{'name': 'z1', 'ready': True, 'annotation': 'x'}, {'name': 'z2', 'ready': True, 'annotation': 'old'}]}]}
    unmet = rot.gate_unmet(info_, {'istiod_roots': ['b', 'a'], 'spire_bundle_roots': ['a', 'b'], 'istiod_ca_not_after': 11, 'rolled': 'x'})
    assert unmet == ["istio-ca-root-cert in kube-system holds [a], not [b, a] (istiod has not loaded the new root-cert.pem yet)",
                     "SPIRE's published bundle lacks b",
                     "istiod istiod-1 still issues with the CA valid until 10 (the new one is valid until 11)",
                     "DaemonSet istio-system/ztunnel not rolled yet (pods not restarted or not ready: z2)"]
    assert rot.gate_unmet(info_, {'spire_bundle_roots': ['a'], 'istiod_ca_not_after': 10}) == []
    assert rot.gate_unmet(info_, {}) == []
    assert rot.gate_unmet({'error': 'boom'}, {}) == ["cluster cannot be read: boom"]


def test_versions():
    assert rot.version_tuple('docker.io/istio/ztunnel:1.25.5-patch1-solo') == (1, 25, 5)
    assert rot.version_tuple('v1.11') == (1, 11, 0) and rot.version_tuple('latest') is None
    assert rot.supports((1, 27, 0), rot.ZTUNNEL_MIN) and not rot.supports((1, 24, 5), rot.ZTUNNEL_MIN)
    assert rot.supports(None, rot.ZTUNNEL_MIN) is None
