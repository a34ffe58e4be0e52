# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of the pki role: what to check, create and write on the controller. PRIVATE to the collection.

``pki_plan(options, isfile, realpath)`` is pure but for the two callables, which the ``pki_plan`` lookup sets to
``os.path.isfile`` and ``os.path.realpath`` of the controller. The tree comes from ``_pki_layout``; the cluster
names are checked with ``_naming``.

Plan keys (every path absolute):

- ``dir``, ``root_cert``, ``root_key``, ``bundle``: the tree's root directory, root CA certificate and key, root bundle.
- ``byo``: the signing CA is brought in (``root_ca_cert_path``/``root_ca_key_path``); ``signing_cert``, ``signing_key``:
  the CA that signs the intermediates; ``upstream``: its certificate followed by ``root_ca_chain_path`` when given.
- ``signing_cert_exists``, ``signing_key_exists``: whether those files exist.
- ``clusters``: the cluster names; ``errors``: input errors, and CA rotations in progress (``active_rotations``: their ids, which the
  lookup reads from the tree) - nothing has been written when they are reported.
- ``dirs``: every directory, parents first (0700).
- ``intermediates``: per cluster and kind (spire, istio): ``cluster``, ``kind``, ``cn``, ``pathlen``, ``days``, ``cert``,
  ``key``, ``key_exists``, ``issue`` (missing, or rotation asked).
- ``files``: the files assembled from certificates: ``dest``, ``srcs`` (PEM files read in order), ``anchor`` (keep only
  the last certificate: the root).
- ``modes``: ``path`` and ``mode`` of every file of the tree (keys 0600, certificates 0644).
- ``checks``: the items of cert_chain_check for every intermediate.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.meshops.ambient_spire.plugins.module_utils._naming import DNS1123_LABEL_MAX, is_dns1123_label
from ansible_collections.meshops.ambient_spire.plugins.module_utils._pki_layout import INTERMEDIATES, directories, pki_paths, tree_paths

# Defaults of the options (the role's defaults are the same).
DEFAULTS = {
    'pki_dir': None,
    'clusters': [],
    'cluster_group': 'k8s_clusters',
    'root_ca_cert_path': '',
    'root_ca_key_path': '',
    'root_ca_chain_path': '',
    'spire_ca_common_name': 'SPIRE {cluster} CA',
    'spire_ca_pathlen': 1,
    'spire_ca_days': 1825,
    'istio_ca_common_name': 'Istio {cluster} CA',
    'istio_ca_pathlen': 0,
    'istio_ca_days': 1825,
    'rotate_intermediates': False,
    'active_rotations': [],
}


def _text(value):
    return '' if value is None else str(value)


def input_errors(options, clusters, byo, upstream, signing_key, root_cert, root_key, isfile):
    """Refusals of the options, before anything is written."""
    errors = []
    if not clusters:
        errors.append("no cluster to issue for: set pki_clusters, or add hosts to the inventory group '%s'" % options['cluster_group'])
    for cluster in clusters:
        if not is_dns1123_label(cluster):
            errors.append("cluster name '%s' is not a DNS-1123 label (lowercase letters, digits and '-', at most %d): fix mesh_cluster_name or pki_clusters"
                          % (cluster, DNS1123_LABEL_MAX))
    if len(set(clusters)) != len(clusters):
        errors.append("duplicate cluster names in %s: every cluster needs its own mesh_cluster_name" % ', '.join(clusters))
    cert_path, key_path = _text(options['root_ca_cert_path']), _text(options['root_ca_key_path'])
    if byo:
        if not cert_path or not key_path:
            errors.append("pki_root_ca_cert_path and pki_root_ca_key_path go together: give both to bring your own root or signing CA, or neither")
        else:
            errors.extend("bring-your-own CA file %s does not exist on the controller" % path for path in upstream + [signing_key] if not isfile(path))
    elif _text(options['root_ca_chain_path']):
        errors.append("pki_root_ca_chain_path needs pki_root_ca_cert_path and pki_root_ca_key_path (the signing CA it belongs to)")
    elif isfile(root_cert) and not isfile(root_key):
        errors.append("the root CA certificate %s exists but its key %s is missing: refusing to create a new root, which would break trust with "
                      "every cluster using the current one. Restore the key, or move the certificate away on purpose to start a new PKI"
                      % (root_cert, root_key))
    return errors


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def pki_plan(options, isfile, realpath):
    """The plan (see the module docstring) for ``options`` (keys of DEFAULTS; ``clusters`` already resolved from the inventory)."""
    options = dict(DEFAULTS, **options)
    clusters = [str(cluster) for cluster in options['clusters'] or []]
    tree = tree_paths(realpath(str(options['pki_dir'])))
    cert_path, key_path, chain_path = (_text(options[name]) for name in ('root_ca_cert_path', 'root_ca_key_path', 'root_ca_chain_path'))
    byo = bool(cert_path) or bool(key_path)
    root_cert, root_key, bundle = tree['root_cert'], tree['root_key'], tree['root_bundle']
    signing_cert = realpath(cert_path) if byo else root_cert
    signing_key = realpath(key_path) if byo else root_key
    upstream = [signing_cert] + ([realpath(chain_path)] if chain_path else [])

    errors = input_errors(options, clusters, byo, upstream, signing_key, root_cert, root_key, isfile)
    for rotation in options['active_rotations'] or []:
        errors.append("the CA rotation %s is in progress in %s/rotations: finish it with playbooks/rotate_ca.yml -e rotate_ca_id=%s before "
                      "issuing or installing (the tree changes only when it finishes)" % (rotation, tree['dir'], rotation))

    # A name that is not a label is an error above and never becomes a path.
    issued = _unique(cluster for cluster in clusters if is_dns1123_label(cluster))
    intermediates, files, modes, checks = [], [], [], []
    rotate = boolean(options['rotate_intermediates'], strict=False)
    for cluster in issued:
        paths = pki_paths(tree['dir'], cluster)
        for kind in INTERMEDIATES:
            kind_paths = paths[kind]
            cert, key, chain = kind_paths['cert'], kind_paths['key'], kind_paths['chain']
            # istiod reads its root from the cacerts material; SPIRE's bundle.crt is the shared root bundle.
            root_file = kind_paths['root_cert'] if kind == 'istio' else bundle
            intermediates.append({
                'cluster': cluster, 'kind': kind,
                'cn': _text(options['%s_ca_common_name' % kind]).replace('{cluster}', cluster),
                'pathlen': int(options['%s_ca_pathlen' % kind]), 'days': int(options['%s_ca_days' % kind]),
                'cert': cert, 'key': key, 'key_exists': isfile(key),
                'issue': rotate or not isfile(cert) or not isfile(key),
            })
            files.append({'dest': chain, 'srcs': [cert] + upstream, 'anchor': False})
            modes.extend([{'path': cert, 'mode': '0644'}, {'path': key, 'mode': '0600'}])
            if kind == 'istio':
                files.append({'dest': root_file, 'srcs': upstream, 'anchor': True})
            checks.append({'name': '%s/%s' % (cluster, kind), 'root_path': root_file, 'ca_cert_path': cert, 'chain_path': chain, 'key_path': key})
    files.append({'dest': bundle, 'srcs': upstream, 'anchor': True})
    if byo:
        files.append({'dest': root_cert, 'srcs': [signing_cert], 'anchor': False})
    modes.extend({'path': item['dest'], 'mode': '0644'} for item in files)
    if not byo:
        modes.extend([{'path': root_cert, 'mode': '0644'}, {'path': root_key, 'mode': '0600'}])

    return {
        'dir': tree['dir'], 'modes': modes, 'byo': byo, 'clusters': clusters, 'errors': errors,
        'root_cert': root_cert, 'root_key': root_key, 'bundle': bundle,
        'signing_cert': signing_cert, 'signing_key': signing_key, 'upstream': upstream,
        'signing_cert_exists': isfile(signing_cert), 'signing_key_exists': isfile(signing_key),
        'dirs': directories(tree['dir'], issued), 'intermediates': intermediates, 'files': files, 'checks': checks,
    }
