# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ca_rotation_restart: the patch that rolls a workload once for a CA rotation phase."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: ca_rotation_restart
short_description: The patch that rolls a workload once for a CA rotation phase
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - From a workload of C(info.workloads) of M(meshops.ambient_spire.ca_rotation_info) (C(kind), C(namespace), C(name)), the
    definition that sets its pod template annotation C(kubectl.kubernetes.io/restartedAt) (the one of C(kubectl rollout restart),
    which operators leave alone) to a value; applying it again with the same value rolls nothing.
options:
  _input:
    description: The workload.
    type: dict
    required: true
  value:
    description: The annotation's value (one per rotation and phase).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Roll ztunnel and the east-west gateways
  kubernetes.core.k8s:
    state: patched
    definition: "{{ info.workloads | map('meshops.ambient_spire.ca_rotation_restart', 'ca-rotation chg-42 trust') | list }}"
"""

RETURN = r"""
_value:
  description: A Kubernetes object (apiVersion, kind, metadata name and namespace, the pod template annotation).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._ca_rotation import RESTART_ANNOTATION

API_VERSIONS = {'DaemonSet': 'apps/v1', 'Deployment': 'apps/v1', 'StatefulSet': 'apps/v1'}


def ca_rotation_restart(workload, value):
    """The patch of a workload's pod template annotation."""
    if not isinstance(workload, dict) or workload.get('kind') not in API_VERSIONS or not workload.get('name'):
        raise AnsibleFilterError("ca_rotation_restart: expects a workload with kind (%s), namespace and name, got %r" % (
            ', '.join(sorted(API_VERSIONS)), workload))
    return {'apiVersion': API_VERSIONS[workload['kind']], 'kind': workload['kind'],
            'metadata': {'name': workload['name'], 'namespace': workload.get('namespace')},
            'spec': {'template': {'metadata': {'annotations': {RESTART_ANNOTATION: str(value)}}}}}


class FilterModule(object):
    """meshops.ambient_spire.ca_rotation_restart"""

    def filters(self):
        return {'ca_rotation_restart': ca_rotation_restart}
