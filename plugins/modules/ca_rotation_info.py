#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: ca_rotation_info
short_description: What a CA rotation reads from one cluster, and whether the cluster passes a rotation gate
version_added: 0.1.0
description:
  - Reads, in about 12 API requests, what the C(meshops.ambient_spire.rotate_ca) role plans and gates with. The CA Secrets
    (C(cacerts), C(spiffe-upstream-ca)) as public facts - each certificate's fingerprint, subject, subject key id and expiry, its
    trust anchors (with their PEM, which is public), the root its chain reaches, whether its key matches - never the keys. The
    rotation state (ConfigMap C(meshops-ca-rotation)). istiod's pods (ready, C(ISTIO_MULTIROOT_MESH), version) and, with
    O(metrics), the CA each one issues with (its C(citadel_server_cert_chain_expiry_timestamp) metric, through the API server's
    pod proxy on port 15014; Istio updates it when it loads new certificates from 1.24). ztunnel and the east-west gateways
    (their rollout and the rotation's restart annotation on every pod). The SPIRE server pod. The trust stores the cluster
    publishes - every C(istio-ca-root-cert) ConfigMap and SPIRE's bundle ConfigMap. The Gloo Operator's istiod values
    (C(gloo-extensions-config)).
  - With O(expect), says whether the cluster is where a gate of the rotation expects it (RV(met)) and, if not, why (RV(unmet));
    use it with C(until).
  - Writes nothing.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.ambient_spire._attributes
  - meshops.ambient_spire._attributes.info_module
attributes:
  action_group:
    description: Use C(group/meshops.ambient_spire.k8s) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - meshops.ambient_spire.k8s
options:
  cluster:
    description: The cluster's name (for messages).
    type: str
    required: true
  istio_namespace:
    description: Namespace of istiod, C(cacerts) and the rotation state.
    type: str
    default: istio-system
  spire_namespace:
    description: Namespace of the SPIRE server, C(spiffe-upstream-ca) and SPIRE's bundle ConfigMap.
    type: str
    default: spire-server
  spire_bundle_configmap:
    description: The ConfigMap SPIRE's k8sbundle notifier publishes the bundle to (key C(bundle.crt)).
    type: str
    default: spire-bundle
  operator_namespace:
    description: Namespace of the Gloo Operator and its C(gloo-extensions-config) ConfigMap.
    type: str
    default: gloo-mesh
  eastwest_namespace:
    description: Namespace of the east-west gateway Deployments (class C(istio-eastwest)); every namespace when unset.
    type: str
  metrics:
    description: Read the CA each ready istiod pod issues with, from its metrics.
    type: bool
    default: false
  expect:
    description:
      - A gate. C(istiod_roots) - the fingerprints every C(istio-ca-root-cert) ConfigMap must hold (exactly);
        C(spire_bundle_roots) - fingerprints SPIRE's published bundle must hold; C(istiod_ca_not_after) - the notAfter (epoch) of
        the CA every ready istiod must issue with (implies O(metrics)); C(rolled) - the restart annotation every ztunnel and
        east-west gateway pod must carry, ready, with no rollout in progress.
    type: dict
    default: {}
requirements:
  - kubernetes >= 24.2.0 (Python library)
  - cryptography >= 3.1
'''

EXAMPLES = r'''
- name: Wait until istiod published both roots
  meshops.ambient_spire.ca_rotation_info:
    cluster: cluster1
    context: cluster1
    expect:
      istiod_roots: [aaaa..., bbbb...]
  register: gate
  until: gate.met
  retries: 60
  delay: 5
'''

RETURN = r'''
info:
  description: The facts read (see the description); certificates as dicts with C(subject), C(sha256), C(subject_key_id), C(not_after).
  returned: success
  type: dict
met:
  description: Whether every expectation of O(expect) holds (true without expectations).
  returned: success
  type: bool
unmet:
  description: Why not, one line per expectation that does not hold.
  returned: success
  type: list
  elements: str
'''

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509
from ansible_collections.meshops.ambient_spire.plugins.module_utils._ca_rotation import gate_unmet
from ansible_collections.meshops.ambient_spire.plugins.module_utils._ca_rotation_read import new_api, read_rotation_info
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import (
    HAS_K8S_CORE,
    HAS_KUBERNETES,
    K8S_CORE_IMPORT_ERROR,
    KUBERNETES_IMPORT_ERROR,
    K8sAuthModule,
    K8sClientError,
    auth_argument_spec,
    create_api_client,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import SnapshotError

AUTH_KEYS = tuple(auth_argument_spec())
READ_OPTIONS = ('istio_namespace', 'spire_namespace', 'spire_bundle_configmap', 'operator_namespace', 'eastwest_namespace')


def main():
    argument_spec = auth_argument_spec()
    argument_spec.update(
        cluster={'type': 'str', 'required': True},
        istio_namespace={'type': 'str', 'default': 'istio-system'},
        spire_namespace={'type': 'str', 'default': 'spire-server'},
        spire_bundle_configmap={'type': 'str', 'default': 'spire-bundle'},
        operator_namespace={'type': 'str', 'default': 'gloo-mesh'},
        eastwest_namespace={'type': 'str'},
        metrics={'type': 'bool', 'default': False},
        expect={'type': 'dict', 'default': {}},
    )
    module = K8sAuthModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not _x509.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=_x509.CRYPTOGRAPHY_IMPORT_ERROR)
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_K8S_CORE:
        module.fail_json(msg='the kubernetes.core collection is required', exception=K8S_CORE_IMPORT_ERROR)
    expect = dict((k, v) for k, v in (params['expect'] or {}).items() if v not in (None, '', []))
    try:
        api = new_api(create_api_client(dict((k, params.get(k)) for k in AUTH_KEYS)), params['cluster'])
        info = read_rotation_info(api, dict((k, params[k]) for k in READ_OPTIONS), metrics=params['metrics'] or 'istiod_ca_not_after' in expect)
    except (SnapshotError, K8sClientError) as exc:
        module.fail_json(msg=str(exc))
    info['cluster'] = params['cluster']
    unmet = gate_unmet(info, expect)
    module.exit_json(changed=False, info=info, met=not unmet, unmet=unmet)


if __name__ == '__main__':
    main()
