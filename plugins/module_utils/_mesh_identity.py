# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The identity of a cluster in the inventory, in one place. PRIVATE to the collection: may change at any time.

Every host of the inventory is a cluster (CONTRIBUTING.md, inventory model):

- cluster      = ``mesh_cluster_name``, else the inventory host name
- network      = ``mesh_network``, else the cluster
- trust domain = ``mesh_trust_domain``, else the cluster

A value is unset when it is undefined, null or ''. Used by the input validation, the ``mesh_identity`` and
``cluster_inputs`` filters (role defaults, the PKI plan, the east-west peers) and nowhere else.

The functions read a host's variables through ``get(name)`` (None when undefined), so that a caller holding lazy
variables (Ansible's hostvars) templates only the few it needs.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

CLUSTER_VARIABLE = 'mesh_cluster_name'
NETWORK_VARIABLE = 'mesh_network'
TRUST_DOMAIN_VARIABLE = 'mesh_trust_domain'
LICENSE_VARIABLE = 'mesh_license_key'


def variable_getter(variables, undefined=(KeyError,)):
    """get(name) over a mapping of one host's variables: the value (templated on access when the mapping is lazy), None
    when the variable is missing or raises one of ``undefined`` (a caller adds its template engine's undefined error)."""
    def get(name):
        try:
            return variables[name]
        except undefined:
            return None
    return get


def is_unset(value):
    """None or '' (whitespace is a value, which the validation refuses as empty)."""
    return value is None or (isinstance(value, str) and value == '')


def derive_identity(host, cluster_name=None, network=None, trust_domain=None):
    """The identity from the raw values of one host.

    Returns ``cluster``, ``network``, ``trust_domain`` and, for each, ``<key>_defaulted`` (True when the default was used).
    """
    identity = {'cluster_defaulted': is_unset(cluster_name)}
    identity['cluster'] = host if identity['cluster_defaulted'] else cluster_name
    identity['network_defaulted'] = is_unset(network)
    identity['network'] = identity['cluster'] if identity['network_defaulted'] else network
    identity['trust_domain_defaulted'] = is_unset(trust_domain)
    identity['trust_domain'] = identity['cluster'] if identity['trust_domain_defaulted'] else trust_domain
    return identity


def host_identity(get, host, cluster=None):
    """``{host, cluster, network, trust_domain}`` of one host whose variables ``get(name)`` returns.

    ``cluster``, when set, is a cluster name already decided (a role's own ``<role>_cluster_name``): it replaces
    ``mesh_cluster_name``, and the network and trust domain default to it.
    """
    identity = derive_identity(host, cluster if not is_unset(cluster) else get(CLUSTER_VARIABLE), get(NETWORK_VARIABLE), get(TRUST_DOMAIN_VARIABLE))
    return {'host': host, 'cluster': identity['cluster'], 'network': identity['network'], 'trust_domain': identity['trust_domain']}


def license_is_set(value):
    """Whether a license value is a non-empty string once trimmed (the value itself never leaves this function)."""
    return bool(value) and len(str(value).strip()) > 0


def cluster_inputs(get, host):
    """The raw inputs of one host as the input validation takes them: unset values are None, defaults are not applied.

    The license is reduced to ``license_set``; the value is never returned.
    """
    return {
        'host': host,
        'kube_context': get('kube_context'),
        'kubeconfig_path': get('kubeconfig_path'),
        'cluster_name': get(CLUSTER_VARIABLE),
        'network': get(NETWORK_VARIABLE),
        'trust_domain': get(TRUST_DOMAIN_VARIABLE),
        'istio_version': get('mesh_istio_version'),
        'license_set': license_is_set(get(LICENSE_VARIABLE)),
    }
