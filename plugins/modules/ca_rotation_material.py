#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: ca_rotation_material
short_description: The new intermediates of one cluster during a CA rotation - issued once, reused when the rotation resumes
version_added: 0.1.0
description:
  - Used by the C(meshops.ambient_spire.rotate_ca) role in its issue phase. Returns, for the istiod plug-in CA (C(cacerts)) and the
    SPIRE upstream authority (C(spiffe-upstream-ca)) of the cluster, the Secret keys to write so that both issue from a new
    intermediate signed by O(signing_ca_cert) (the new root, or the same root for an intermediate rotation).
  - An intermediate is new when it chains to O(signing_ca_cert) and its fingerprint is not one of O(replace) (the intermediates
    the rotation started from). What the cluster already holds that is new is kept (the rotation was cut off after writing it);
    with O(tree_dir) (the files store) new material is written there once and read back on the next run; else it is issued.
    So an interrupted rotation resumed with the same id writes the same material, and no key is issued twice for a cluster.
  - The trust anchors (C(root-cert.pem), C(bundle.crt)) are not changed here; the rotation's trust phases write them.
  - RV(patch) holds private keys; run the task with C(no_log), as the role does. RV(report) holds public facts only.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.ambient_spire._attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is issued or written in check mode; RV(report) says what would be.
  diff_mode:
    support: none
  idempotent:
    support: full
  action_group:
    description: Use C(group/meshops.ambient_spire.k8s) in C(module_defaults) to set the connection options.
    support: full
    membership:
      - meshops.ambient_spire.k8s
options:
  cluster:
    description: The cluster's name (for messages and the tree's paths).
    type: str
    required: true
  signing_ca_cert:
    description: The CA that signs the new intermediates (PEM).
    type: str
    required: true
  signing_ca_key:
    description: Its unencrypted PEM key.
    type: str
    required: true
  signing_ca_chain:
    description: The certificates above O(signing_ca_cert), ending with the root, when it is not a root itself (PEM).
    type: str
    default: ""
  replace:
    description: Fingerprints (SHA-256, hex) of the intermediates to replace.
    type: list
    elements: str
    default: []
  tree_dir:
    description:
      - The files store's tree of this rotation (C(<pki_dir>/rotations/<id>)); new material is written there (keys 0600, folders 0700)
        and read back. Unset for the inventory store.
    type: path
  istio_namespace:
    description: Namespace of the C(cacerts) Secret.
    type: str
    default: istio-system
  spire_namespace:
    description: Namespace of the C(spiffe-upstream-ca) Secret.
    type: str
    default: spire-server
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
    description: Common name of the new SPIRE upstream intermediate; C({cluster}) is replaced.
    type: str
    default: SPIRE {cluster} CA
  spire_pathlen:
    description: Its pathlen.
    type: int
    default: 1
  spire_days:
    description: Its validity in days.
    type: int
    default: 1825
  istio_common_name:
    description: Common name of the new istiod plug-in CA; C({cluster}) is replaced.
    type: str
    default: Istio {cluster} CA
  istio_pathlen:
    description: Its pathlen.
    type: int
    default: 0
  istio_days:
    description: Its validity in days.
    type: int
    default: 1825
requirements:
  - kubernetes >= 24.2.0 (Python library)
  - cryptography >= 3.1
seealso:
  - module: meshops.ambient_spire.pki_cluster_material
'''

EXAMPLES = r'''
- name: New intermediates of this cluster from root B
  meshops.ambient_spire.ca_rotation_material:
    cluster: cluster1
    context: cluster1
    signing_ca_cert: "{{ root_b_cert }}"
    signing_ca_key: "{{ root_b_key }}"
    replace: "{{ before_fingerprints }}"
  register: material
  no_log: true
'''

RETURN = r'''
patch:
  description:
    - Per kind (C(istio), C(spire)), the Secret keys to write as PEM text (empty when the cluster already holds the new material).
      Holds private keys.
  returned: success
  type: dict
report:
  description: Per kind, C(action) (C(issued), C(from_tree), C(in_place), C(would_issue)) and C(certificate) (public facts of the new intermediate).
  returned: success
  type: dict
'''

import datetime
import os

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store, _x509
from ansible_collections.meshops.ambient_spire.plugins.module_utils._ca_rotation_read import new_api, read_secret_data
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
from ansible_collections.meshops.ambient_spire.plugins.module_utils._pki_layout import pki_paths

AUTH_KEYS = tuple(auth_argument_spec())


def _is_new(cert, chain, key_text, signing, replace, now):
    return cert is not None and _pki_store.fingerprint(cert) not in replace and \
        _pki_store.chain_root(cert, chain, [signing.root], now) is not None and bool(key_text) and _x509.key_matches_certificate(cert, key_text)


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _makedirs(directory):
    """Create a folder and its missing parents, each 0700 (os.makedirs applies the mode to the last one only)."""
    if not directory or os.path.isdir(directory):
        return
    _makedirs(os.path.dirname(directory))
    os.mkdir(directory, 0o700)
    os.chmod(directory, 0o700)


def _write(path, text, mode):
    _makedirs(os.path.dirname(path))
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def main():
    argument_spec = auth_argument_spec()
    argument_spec.update(
        cluster={'type': 'str', 'required': True},
        signing_ca_cert={'type': 'str', 'required': True},
        signing_ca_key={'type': 'str', 'required': True, 'no_log': True},
        signing_ca_chain={'type': 'str', 'default': ''},
        replace={'type': 'list', 'elements': 'str', 'default': []},
        tree_dir={'type': 'path'},
        istio_namespace={'type': 'str', 'default': 'istio-system'},
        spire_namespace={'type': 'str', 'default': 'spire-server'},
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
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=KUBERNETES_IMPORT_ERROR)
    if not HAS_K8S_CORE:
        module.fail_json(msg='the kubernetes.core collection is required', exception=K8S_CORE_IMPORT_ERROR)
    signing, errors = _pki_store.load_signing_ca(params['signing_ca_cert'], params['signing_ca_key'], params['signing_ca_chain'],
                                                 names=('signing_ca_cert', 'signing_ca_key', 'signing_ca_chain'))
    if errors:
        module.fail_json(msg='; '.join(errors))
    cluster = params['cluster']
    try:
        api = new_api(create_api_client(dict((k, params.get(k)) for k in AUTH_KEYS)), cluster)
        data = {'istio': read_secret_data(api, params['istio_namespace'], 'cacerts'),
                'spire': read_secret_data(api, params['spire_namespace'], 'spiffe-upstream-ca')}
    except (SnapshotError, K8sClientError) as exc:
        module.fail_json(msg=str(exc))
    replace = set(f.lower() for f in params['replace'] or [])
    options = _pki_store.common_names(params, cluster)
    now = datetime.datetime.now(_pki_store.UTC)
    tree = pki_paths(params['tree_dir'], cluster) if params['tree_dir'] else None
    patch, report = {}, {}
    for kind in _pki_store.KINDS:
        cert_key, key_key, chain_key, dummy = _pki_store.SECRET_KEYS[kind]
        view = _pki_store.current(kind, data[kind]) if data[kind] is not None else None
        if view is None:
            module.fail_json(msg="cluster %s has no Secret %s: install it first" % (cluster, _pki_store.SECRET_NAMES[kind]))
        if _is_new(view['cert'], view['chain'], (data[kind] or {}).get(key_key), signing, replace, now):
            patch[kind], report[kind] = {}, {'action': 'in_place', 'certificate': _pki_store.info(view['cert'])}
            continue
        files = tree[kind] if tree else None
        cert_text, key_text = (_read(files['cert']), _read(files['key'])) if files else (None, None)
        certs = _pki_store.load_certs(cert_text)
        if certs and _is_new(certs[0], signing.upstream, key_text, signing, replace, now):
            cert, action = certs[0], 'from_tree'
        elif module.check_mode:
            patch[kind], report[kind] = {}, {'action': 'would_issue', 'certificate': None}
            continue
        else:
            old = [view['cert']] if view['cert'] is not None else []
            cert, key = _pki_store.issue_ca(signing, options['%s_common_name' % kind], options['%s_pathlen' % kind], options['%s_days' % kind],
                                            key_options=options, digest=options['digest'], now=now,
                                            avoid_not_after=[int(_x509.not_after(c).timestamp()) for c in old])
            key_text, action = _pki_store.key_pem(key), 'issued'
            if files:
                _write(files['key'], key_text, 0o600)
                _write(files['cert'], _pki_store.cert_pem(cert), 0o644)
                _write(files['chain'], _pki_store.certs_pem([cert] + signing.upstream), 0o644)
        patch[kind] = {cert_key: _pki_store.cert_pem(cert), key_key: key_text}
        if chain_key:
            patch[kind][chain_key] = _pki_store.certs_pem([cert] + signing.upstream)
        report[kind] = {'action': action, 'certificate': _pki_store.info(cert)}
    changed = any(r['action'] in ('issued', 'would_issue') for r in report.values())
    module.exit_json(changed=changed, patch=patch, report=report)


if __name__ == '__main__':
    main()
