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


def directories(pki_dir, clusters):
    """Every directory of the tree for these clusters, parents first (each is 0700)."""
    tree = tree_paths(pki_dir)
    dirs = [tree['dir'], tree['root_dir'], tree['clusters_dir']]
    for cluster in clusters:
        paths = pki_paths(pki_dir, cluster)
        dirs.append(paths['cluster_dir'])
        dirs.extend(paths[kind]['dir'] for kind in INTERMEDIATES)
    return dirs
