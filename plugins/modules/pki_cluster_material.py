#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: pki_cluster_material
short_description: The CA material of one cluster from the inventory PKI store - read back from the cluster, issued when missing or due
version_added: 0.1.0
description:
  - The per-cluster half of C(pki_store=inventory) of the C(meshops.ambient_spire.pki) role. The root CA comes from variables
    (O(root_ca_cert), O(root_ca_key)); this module reads the cluster's intermediates back from its Secrets (C(cacerts) in the istiod
    namespace, C(spiffe-upstream-ca) in the SPIRE namespace) and keeps them while they chain to that root, their key matches and they
    do not expire within O(renew_within_days). A missing or due intermediate is issued, in memory, from the root. Nothing is
    written, neither to the cluster nor to a file; the install roles write the Secrets from RV(material).
  - Refuses (RV(errors), nothing issued) when the root variables are missing, not a CA or with a key that does not match, when a
    Secret is under another root (another mesh, or a finished root rotation not yet reflected in the root variables), when its key
    does not match its certificate, and while a CA rotation is in progress on the cluster.
  - RV(material) holds private keys. Run the task with C(no_log), as the role does; errors and RV(report) never hold key material.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.ambient_spire._attributes
attributes:
  check_mode:
    support: full
    details:
      - The module never writes; in check mode it issues in memory as well, so that the install's check mode sees material.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run returns the material the cluster holds (written by the first run's install roles), and C(changed=false).
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
  root_ca_cert:
    description: The root CA certificate (PEM); with O(root_ca_chain), a signing CA and the certificates above it.
    type: str
    required: true
  root_ca_key:
    description: The unencrypted PEM private key of O(root_ca_cert).
    type: str
    required: true
  root_ca_chain:
    description: When O(root_ca_cert) is a signing CA below a root, the certificates above it, ending with the root (PEM).
    type: str
    default: ""
  istio_namespace:
    description: Namespace of istiod, the C(cacerts) Secret and the rotation state ConfigMap.
    type: str
    default: istio-system
  spire_namespace:
    description: Namespace of the SPIRE server and its upstream CA Secret.
    type: str
    default: spire-server
  cacerts_secret:
    description: Name of istiod's plug-in CA Secret.
    type: str
    default: cacerts
  spire_upstream_ca_secret:
    description: Name of SPIRE's UpstreamAuthority disk Secret.
    type: str
    default: spiffe-upstream-ca
  renew_within_days:
    description: Issue a new intermediate when the current one expires within this many days.
    type: int
    default: 30
  key_type:
    description: Algorithm of new keys.
    type: str
    choices: [RSA, ECC]
    default: RSA
  key_size:
    description: RSA key size in bits.
    type: int
    default: 2048
  key_curve:
    description: Curve of ECC keys.
    type: str
    default: secp256r1
  digest:
    description: Signature digest.
    type: str
    default: sha256
  spire_common_name:
    description: Common name of a new SPIRE upstream intermediate; C({cluster}) is replaced.
    type: str
    default: SPIRE {cluster} CA
  spire_pathlen:
    description: pathlen of a new SPIRE upstream intermediate.
    type: int
    default: 1
  spire_days:
    description: Validity of a new SPIRE upstream intermediate.
    type: int
    default: 1825
  istio_common_name:
    description: Common name of a new istiod plug-in CA; C({cluster}) is replaced.
    type: str
    default: Istio {cluster} CA
  istio_pathlen:
    description: pathlen of a new istiod plug-in CA.
    type: int
    default: 0
  istio_days:
    description: Validity of a new istiod plug-in CA.
    type: int
    default: 1825
requirements:
  - kubernetes >= 24.2.0 (Python library)
  - cryptography >= 3.1
seealso:
  - module: meshops.ambient_spire.ca_rotation_material
'''

EXAMPLES = r'''
- name: This cluster's CA material (root from the vault)
  meshops.ambient_spire.pki_cluster_material:
    cluster: "{{ inventory_hostname }}"
    root_ca_cert: "{{ pki_root_ca_cert }}"
    root_ca_key: "{{ pki_root_ca_key }}"
    context: "{{ kube_context }}"
  register: material
  no_log: true
'''

RETURN = r'''
errors:
  description:
    - Why the material cannot be kept or issued (empty when it can); nothing is issued then. The cluster not answering is one of them
      (returned rather than failed, because the task runs with C(no_log) and its failure message would be hidden).
  returned: always
  type: list
  elements: str
material:
  description:
    - The Secret data of each intermediate as PEM text, kept or issued. Holds private keys.
    - C(istio) has C(ca-cert.pem), C(ca-key.pem), C(cert-chain.pem), C(root-cert.pem); C(spire) has C(tls.crt), C(tls.key), C(bundle.crt).
  returned: when errors is empty
  type: dict
report:
  description: Per kind (C(istio), C(spire)) the action (C(keep), C(issue)), why, and the certificate's public facts (no key).
  returned: when errors is empty
  type: dict
'''

import datetime

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store, _x509
from ansible_collections.meshops.ambient_spire.plugins.module_utils._ca_rotation import phase_title
from ansible_collections.meshops.ambient_spire.plugins.module_utils._ca_rotation_read import new_api, read_secret_data, read_state
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


def main():
    argument_spec = auth_argument_spec()
    argument_spec.update(
        cluster={'type': 'str', 'required': True},
        root_ca_cert={'type': 'str', 'required': True},
        root_ca_key={'type': 'str', 'required': True, 'no_log': True},
        root_ca_chain={'type': 'str', 'default': ''},
        istio_namespace={'type': 'str', 'default': 'istio-system'},
        spire_namespace={'type': 'str', 'default': 'spire-server'},
        cacerts_secret={'type': 'str', 'default': 'cacerts', 'no_log': False},
        spire_upstream_ca_secret={'type': 'str', 'default': 'spiffe-upstream-ca', 'no_log': False},
        renew_within_days={'type': 'int', 'default': 30},
        key_type={'type': 'str', 'default': 'RSA', 'choices': ['RSA', 'ECC']},
        key_size={'type': 'int', 'default': 2048},
        key_curve={'type': 'str', 'default': 'secp256r1', 'no_log': False},
        digest={'type': 'str', 'default': 'sha256'},
        spire_common_name={'type': 'str', 'default': 'SPIRE {cluster} CA'},
        spire_pathlen={'type': 'int', 'default': 1},
        spire_days={'type': 'int', 'default': 1825},
        istio_common_name={'type': 'str', 'default': 'Istio {cluster} CA'},
        istio_pathlen={'type': 'int', 'default': 0},
        istio_days={'type': 'int', 'default': 1825},
    )
    module = K8sAuthModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not _x509.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=_x509.CRYPTOGRAPHY_IMPORT_ERROR)
    signing, errors = _pki_store.load_signing_ca(params['root_ca_cert'], params['root_ca_key'], params['root_ca_chain'])
    cluster = params['cluster']
    if errors:
        module.exit_json(changed=False, errors=["%s: %s" % (cluster, e) for e in errors])
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_K8S_CORE:
        module.fail_json(msg='the kubernetes.core collection is required', exception=K8S_CORE_IMPORT_ERROR)
    try:
        api = new_api(create_api_client(dict((k, params.get(k)) for k in AUTH_KEYS)), cluster)
        state = read_state(api, params['istio_namespace'])
        data = {'istio': read_secret_data(api, params['istio_namespace'], params['cacerts_secret']),
                'spire': read_secret_data(api, params['spire_namespace'], params['spire_upstream_ca_secret'])}
    except (SnapshotError, K8sClientError) as exc:
        # returned, not failed: the role runs this task with no_log, and the next task shows the errors
        module.exit_json(changed=False, errors=["%s: %s" % (cluster, exc)])
    if state and not state.get('finished'):
        left = [p for p, status in sorted((state.get('phases') or {}).items()) if status != 'done']
        module.exit_json(changed=False, errors=[
            "%s: the CA rotation %s (%s) is in progress on this cluster (left: %s): finish it with playbooks/rotate_ca.yml -e rotate_ca_id=%s "
            "before installing" % (cluster, state['id'], state.get('scope'), ', '.join(phase_title(state.get('scope'), p) for p in left) or 'finish',
                                   state['id'])])
    options = _pki_store.common_names(params, cluster)
    now = datetime.datetime.now(_pki_store.UTC)
    material, report = {}, {}
    namespaces = {'istio': params['istio_namespace'], 'spire': params['spire_namespace']}
    for kind in _pki_store.KINDS:
        view = _pki_store.current(kind, data[kind])
        kept, action, reason, error = _pki_store.keep_or_issue(kind, view, signing, cluster, namespaces[kind], options, now)
        if error:
            errors.append(error)
            continue
        material[kind] = kept
        report[kind] = dict(_pki_store.summary(kind, kept), action=action, reason=reason)
    if errors:
        module.exit_json(changed=False, errors=errors)
    changed = any(r['action'] == 'issue' for r in report.values())
    module.exit_json(changed=changed, errors=[], material=material, report=report)


if __name__ == '__main__':
    main()
