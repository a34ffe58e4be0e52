# -*- coding: utf-8 -*-
"""The patches the rotate_ca role writes: a Secret's data in one update, a workload rolled once per rotation phase."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.ambient_spire.plugins.filter.ca_rotation_restart import ca_rotation_restart
from ansible_collections.meshops.ambient_spire.plugins.filter.ca_rotation_secret import ca_rotation_secret


def test_secret_patch_encodes_every_key_in_one_object():
    patch = ca_rotation_secret({'root-cert.pem': 'A\nB\n', 'ca-key.pem': 'K'}, 'cacerts', 'istio-system')
    assert patch == [{'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'cacerts', 'namespace': 'istio-system'},
                      'data': {'root-cert.pem': base64.b64encode(b'A\nB\n').decode(), 'ca-key.pem': base64.b64encode(b'K').decode()}}]
    assert ca_rotation_secret({}, 'cacerts', 'istio-system') == []
    with pytest.raises(AnsibleFilterError):
        ca_rotation_secret('text', 'cacerts', 'istio-system')


def test_restart_patch_sets_the_rollout_restart_annotation():
    patch = ca_rotation_restart({'kind': 'DaemonSet', 'namespace': 'istio-system', 'name': 'ztunnel'}, 'ca-rotation chg-1 trust')
    assert patch == {'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'ztunnel', 'namespace': 'istio-system'},
                     'spec': {'template': {'metadata': {'annotations': {'kubectl.kubernetes.io/restartedAt': 'ca-rotation chg-1 trust'}}}}}
    with pytest.raises(AnsibleFilterError, match='expects a workload'):
        ca_rotation_restart({'kind': 'Pod', 'name': 'x'}, 'v')
