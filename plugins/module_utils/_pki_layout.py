# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PKI tree: where each file lives under ``pki_dir``. PRIVATE to the collection: may change at any time.

The only place that knows the tree (CONTRIBUTING.md, "PKI tree"). The ``pki`` role writes it (through the ``pki_plan``
lookup), the other roles read it (through the ``pki_paths`` filter)::

    <pki_dir>/                          dir
      root/                             root_dir
        root-ca.crt                     root_cert      the root CA (or, brought in, the signing CA)
        root-ca.key                     root_key       its key (not written when the CA is brought in)
      root-ca-bundle.pem                root_bundle    the trust bundle: the root certificate
      clusters/                         clusters_dir
        <cluster>/                      cluster_dir
          spire/                        spire.dir      SPIRE upstream authority intermediate
            ca.crt ca.key ca-chain.pem  spire.cert, spire.key, spire.chain (chain = ca.crt + the signing CA up to the root)
          istio/                        istio.dir      istiod plug-in CA (the cacerts Secret, same file names as its keys)
            ca-cert.pem ca-key.pem      istio.cert, istio.key
            cert-chain.pem              istio.chain (ca-cert.pem + the signing CA up to the root)
            root-cert.pem               istio.root_cert (the root)
      rotations/<id>/                   rotation_paths(): a CA rotation's own tree (the same layout: root/ holds the new root of a
        state.json                      root rotation, clusters/ the new intermediates) and its state
      archive/<id>/                     the root a finished root rotation replaced, with its key (never deleted)
        root-ca.crt root-ca.key

Pure path arithmetic: nothing here touches the file system. Paths are ``pki_dir`` joined with '/' (trailing '/'
of ``pki_dir`` dropped); ``pki_dir`` is used as given (the pki role resolves it first).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The intermediates of every cluster, in the order they are issued.
INTERMEDIATES = ('spire', 'istio')

_FILES = {
    'spire': (('cert', 'ca.crt'), ('key', 'ca.key'), ('chain', 'ca-chain.pem')),
    'istio': (('cert', 'ca-cert.pem'), ('key', 'ca-key.pem'), ('chain', 'cert-chain.pem'), ('root_cert', 'root-cert.pem')),
}


def _base(pki_dir):
    text = str(pki_dir)
    stripped = text.rstrip('/')
    return stripped if stripped else text[:1]


def _check_cluster(cluster):
    name = str(cluster)
    if not name or '/' in name or name in ('.', '..'):
        raise ValueError("cluster name %r cannot name a directory of the PKI tree" % (cluster,))
    return name


def tree_paths(pki_dir):
    """The paths shared by every cluster: dir, root_dir, root_cert, root_key, root_bundle, clusters_dir."""
    base = _base(pki_dir)
    return {
        'dir': base,
        'root_dir': base + '/root',
        'root_cert': base + '/root/root-ca.crt',
        'root_key': base + '/root/root-ca.key',
        'root_bundle': base + '/root-ca-bundle.pem',
        'clusters_dir': base + '/clusters',
        'rotations_dir': base + '/rotations',
        'archive_dir': base + '/archive',
    }


def pki_paths(pki_dir, cluster=None):
    """tree_paths(), and with a cluster name its cluster_dir and the files of its intermediates (keys ``spire`` and ``istio``)."""
    paths = tree_paths(pki_dir)
    if cluster is None:
        return paths
    paths['cluster_dir'] = '%s/%s' % (paths['clusters_dir'], _check_cluster(cluster))
    for kind in INTERMEDIATES:
        kind_dir = '%s/%s' % (paths['cluster_dir'], kind)
        paths[kind] = dict([('dir', kind_dir)] + [(key, '%s/%s' % (kind_dir, name)) for key, name in _FILES[kind]])
    return paths


def _check_rotation(rotation_id):
    name = str(rotation_id)
    if not name or '/' in name or name.startswith('.'):
        raise ValueError("rotation id %r cannot name a directory of the PKI tree" % (rotation_id,))
    return name


def rotation_paths(pki_dir, rotation_id):
    """A CA rotation's place in the tree: ``dir`` (its own tree, laid out like the main one: pki_paths(dir) gives its root and
    clusters), ``state`` (its state.json), and ``archive_dir``, ``archive_root_cert``, ``archive_root_key`` (where a root
    rotation keeps the root it replaced)."""
    tree = tree_paths(pki_dir)
    name = _check_rotation(rotation_id)
    directory = '%s/%s' % (tree['rotations_dir'], name)
    archive = '%s/%s' % (tree['archive_dir'], name)
    return {'dir': directory, 'state': directory + '/state.json', 'archive_dir': archive,
            'archive_root_cert': archive + '/root-ca.crt', 'archive_root_key': archive + '/root-ca.key'}


def directories(pki_dir, clusters):
    """Every directory of the tree for these clusters, parents first (each is 0700)."""
    tree = tree_paths(pki_dir)
    dirs = [tree['dir'], tree['root_dir'], tree['clusters_dir']]
    for cluster in clusters:
        paths = pki_paths(pki_dir, cluster)
        dirs.append(paths['cluster_dir'])
        dirs.extend(paths[kind]['dir'] for kind in INTERMEDIATES)
    return dirs
