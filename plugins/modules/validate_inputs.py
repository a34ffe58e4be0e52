#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: validate_inputs
short_description: Validate the inventory of clusters before anything is touched
version_added: 0.1.0
description:
  - Checks the inputs of every targeted cluster at once and fails with one message listing every problem,
    each naming the host, the variable and the fix. Used by the role C(meshops.ambient_spire.validate),
    which runs it once (C(run_once)) as the first task of every playbook.
  - "Rules: cluster and network names are DNS-1123 labels; C(kube_context) is set and, where it becomes a certificate
    SAN (O(context_as_san)), has no underscore; cluster names are unique; two clusters share a network only with a
    flat network; trust domains follow the SPIFFE rules; the license is set when required; the Istio version is well
    formed and, for a multicluster mesh, at least O(minimum_istio_version); the environment variables O(forbidden_env)
    are not set while more than one cluster is targeted; no two hosts share one context of one kubeconfig."
  - Reads only its parameters and its own environment. Never receives the license itself, only whether it is set.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._attributes
  - meshops.ambient_spire._attributes.info_module
options:
  clusters:
    description:
      - One item per targeted cluster (inventory host). Unset values are V(null); the inventory defaults apply
        (cluster name = host, network and trust domain = cluster name).
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description: Inventory host name; used in the messages.
        type: str
        required: true
      kube_context:
        description: C(kube_context) of the host.
        type: raw
      kubeconfig_path:
        description: C(kubeconfig_path) of the host (two hosts may share a context name only in different kubeconfig files).
        type: raw
      cluster_name:
        description: C(mesh_cluster_name); V(null) means the host name.
        type: raw
      network:
        description: C(mesh_network); V(null) means the cluster name.
        type: raw
      trust_domain:
        description: C(mesh_trust_domain); V(null) means the cluster name.
        type: raw
      istio_version:
        description: C(mesh_istio_version).
        type: raw
      license_set:
        description: Whether C(mesh_license_key) is a non-empty string. Never pass the license itself.
        type: bool
        default: false
  flat_network:
    description: C(mesh_flat_network); booleans or boolean strings, anything else is refused.
    type: raw
    default: false
  multicluster:
    description:
      - Whether the mesh has more than one cluster (Istio version floor, context names as SANs).
      - Unset means more than one item in O(clusters).
    type: bool
  context_as_san:
    description:
      - Refuse underscores in C(kube_context) because the context name becomes a certificate SAN.
      - Unset means the value of O(multicluster).
    type: bool
  require_license:
    description: Refuse a missing or empty license (set when the C(gloo_operator) role runs).
    type: bool
    default: false
  require_istio_version:
    description: Refuse a missing C(mesh_istio_version) (set when Istio is installed).
    type: bool
    default: false
  minimum_istio_version:
    description: Lowest Istio version for a multicluster mesh.
    type: str
    default: 1.24.3
  forbidden_env:
    description:
      - Environment variables that must not be set while more than one cluster is targeted, because kubernetes.core
        and helm then send every cluster's tasks to one API server and ignore the context.
      - Only the names are reported, never the values.
    type: list
    elements: str
    default: [K8S_AUTH_HOST, K8S_AUTH_API_KEY]
notes:
  - Runs on the controller; the collection's hosts use C(ansible_connection=local).
'''

EXAMPLES = r'''
- name: Validate the inputs of every targeted cluster
  meshops.ambient_spire.validate_inputs:
    clusters:
      - host: cluster1
        kube_context: cluster1
        istio_version: 1.25.5-patch1
        license_set: true
      - host: cluster2
        kube_context: cluster2
        network: net-2
    require_license: true
  run_once: true
'''

RETURN = r'''
problems:
  description: Every problem found, one line each (empty when the inputs are valid).
  returned: always
  type: list
  elements: str
  sample: ["cluster2: mesh_network 'net_1' is not a DNS-1123 label (...). Fix: use lowercase letters, digits and '-' (e.g. net-1)"]
clusters:
  description: The validated clusters with the defaults applied.
  returned: success
  type: list
  elements: dict
  contains:
    host:
      description: Inventory host name.
      type: str
      returned: always
    cluster_name:
      description: Cluster name.
      type: str
      returned: always
    network:
      description: Network.
      type: str
      returned: always
    trust_domain:
      description: Trust domain.
      type: str
      returned: always
    kube_context:
      description: Kube context.
      type: str
      returned: always
multicluster:
  description: Whether the mesh was validated as multicluster.
  type: bool
  returned: always
'''

import os

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sAuthModule
from ansible_collections.meshops.ambient_spire.plugins.module_utils._module_run import ModuleFailure, run_as_module
from ansible_collections.meshops.ambient_spire.plugins.module_utils._validation import (
    FORBIDDEN_ENV,
    MIN_MULTICLUSTER_ISTIO_VERSION,
    summary,
    validate,
)

CLUSTER_SPEC = dict(
    host=dict(type='str', required=True),
    kube_context=dict(type='raw'),
    kubeconfig_path=dict(type='raw', no_log=False),
    cluster_name=dict(type='raw'),
    network=dict(type='raw'),
    trust_domain=dict(type='raw'),
    istio_version=dict(type='raw'),
    license_set=dict(type='bool', default=False, no_log=False),
)


def argument_spec():
    return dict(
        clusters=dict(type='list', elements='dict', required=True, options=CLUSTER_SPEC),
        flat_network=dict(type='raw', default=False),
        multicluster=dict(type='bool'),
        context_as_san=dict(type='bool'),
        require_license=dict(type='bool', default=False),
        require_istio_version=dict(type='bool', default=False),
        minimum_istio_version=dict(type='str', default=MIN_MULTICLUSTER_ISTIO_VERSION),
        forbidden_env=dict(type='list', elements='str', default=list(FORBIDDEN_ENV)),
    )


def execute(params, check_mode=False, warn=None):  # pylint: disable=unused-argument
    multicluster = params['multicluster']
    if multicluster is None:
        multicluster = len(params['clusters']) > 1
    environ = dict((name, os.environ.get(name, '')) for name in params['forbidden_env'])
    problems, records = validate(
        params['clusters'],
        flat_network=params['flat_network'],
        multicluster=multicluster,
        require_license=params['require_license'],
        context_as_san=params['context_as_san'],
        require_istio_version=params['require_istio_version'],
        minimum_istio_version=params['minimum_istio_version'],
        environ=environ,
        forbidden_env=params['forbidden_env'],
    )
    if problems:
        raise ModuleFailure(summary(problems), problems=problems, multicluster=multicluster)
    clusters = [dict((key, r.get(key)) for key in ('host', 'cluster_name', 'network', 'trust_domain', 'kube_context')) for r in records]
    return dict(changed=False, problems=problems, clusters=clusters, multicluster=multicluster)


def main():
    # a kubeconfig_path given as a kubeconfig dict: its secrets are masked from the start
    run_as_module(K8sAuthModule(argument_spec=argument_spec(), supports_check_mode=True), execute)


if __name__ == '__main__':
    main()
