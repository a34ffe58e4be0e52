# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the validate_inputs module: main() with patched arguments and environment."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshops.ambient_spire.plugins.modules import validate_inputs

GOOD = [
    {'host': 'cluster1', 'kube_context': 'cluster1', 'istio_version': '1.25.5-patch1', 'license_set': True},
    {'host': 'cluster2', 'kube_context': 'cluster2', 'istio_version': '1.25.5-patch1', 'license_set': True},
]


def run_main(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            validate_inputs.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ('K8S_AUTH_HOST', 'K8S_AUTH_API_KEY'):
        monkeypatch.delenv(name, raising=False)


def test_good_inputs(capsys):
    rc, result = run_main({'clusters': GOOD, 'require_license': True, '_ansible_check_mode': True}, capsys)
    assert rc == 0 and result['problems'] == [] and result['changed'] is False
    assert result['multicluster'] is True
    assert result['clusters'][1] == {'host': 'cluster2', 'cluster_name': 'cluster2', 'network': 'cluster2',
                                     'trust_domain': 'cluster2', 'kube_context': 'cluster2'}


def test_refusal_lists_every_problem(capsys):
    clusters = [dict(GOOD[0], network='net_1'), dict(GOOD[1], license_set=False)]
    rc, result = run_main({'clusters': clusters, 'require_license': True}, capsys)
    assert rc == 1 and result['failed'] is True
    assert len(result['problems']) == 2
    assert result['msg'].splitlines()[0] == 'Input validation refused the run (2 problems); nothing was touched:'
    assert "cluster1: mesh_network 'net_1'" in result['msg'] and 'cluster2: mesh_license_key is missing' in result['msg']


def test_environment_read_by_the_module_and_values_never_returned(capsys, monkeypatch):
    monkeypatch.setenv('K8S_AUTH_HOST', 'https://10.9.8.7:6443')
    monkeypatch.setenv('K8S_AUTH_API_KEY', 'sekret-api-token')
    rc, result = run_main({'clusters': GOOD}, capsys)
    assert rc == 1
    assert 'environment: K8S_AUTH_HOST and K8S_AUTH_API_KEY are set while 2 clusters are targeted' in result['msg']
    assert 'sekret-api-token' not in json.dumps(result) and '10.9.8.7' not in json.dumps(result)
    rc, result = run_main({'clusters': GOOD[:1]}, capsys)
    assert rc == 0 and result['multicluster'] is False


def test_multicluster_and_context_as_san_flags(capsys):
    one = [dict(GOOD[0], kube_context='gke_p_z_c1', istio_version='1.24.0')]
    rc, result = run_main({'clusters': one}, capsys)
    assert rc == 0
    rc, result = run_main({'clusters': one, 'multicluster': True}, capsys)
    assert rc == 1 and len(result['problems']) == 2
    rc, result = run_main({'clusters': one, 'multicluster': True, 'context_as_san': False, 'minimum_istio_version': '1.24.0'}, capsys)
    assert rc == 0
