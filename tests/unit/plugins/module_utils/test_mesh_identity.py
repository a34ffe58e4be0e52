# -*- coding: utf-8 -*-
"""The identity of a cluster: cluster = mesh_cluster_name or the host, network and trust domain = their variable or the cluster."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _mesh_identity as m
from ansible_collections.meshops.ambient_spire.plugins.module_utils._validation import normalize_cluster


def getter(values):
    return m.variable_getter(values)


@pytest.mark.parametrize("raw,expected", [
    ({}, ("h1", "h1", "h1")),
    ({"mesh_cluster_name": "c1"}, ("c1", "c1", "c1")),
    ({"mesh_cluster_name": "c1", "mesh_network": "n1"}, ("c1", "n1", "c1")),
    ({"mesh_trust_domain": "td"}, ("h1", "h1", "td")),
    ({"mesh_cluster_name": "", "mesh_network": None, "mesh_trust_domain": ""}, ("h1", "h1", "h1")),
    ({"mesh_cluster_name": " "}, (" ", " ", " ")),
    ({"mesh_cluster_name": 42}, (42, 42, 42)),
])
def test_host_identity(raw, expected):
    identity = m.host_identity(getter(raw), "h1")
    assert (identity["cluster"], identity["network"], identity["trust_domain"]) == expected and identity["host"] == "h1"


def test_a_decided_cluster_replaces_mesh_cluster_name():
    identity = m.host_identity(getter({"mesh_cluster_name": "c1", "mesh_network": "n1"}), "h1", cluster="own")
    assert identity == {"host": "h1", "cluster": "own", "network": "n1", "trust_domain": "own"}
    assert m.host_identity(getter({"mesh_cluster_name": "c1"}), "h1", cluster="")["cluster"] == "c1"


def test_derive_records_defaults():
    assert m.derive_identity("h", None, "n", "") == {"cluster": "h", "cluster_defaulted": True, "network": "n", "network_defaulted": False,
                                                     "trust_domain": "h", "trust_domain_defaulted": True}


def test_validation_uses_the_same_derivation():
    record = normalize_cluster({"host": "h", "cluster_name": "c", "network": "", "trust_domain": None, "license_set": 1})
    assert (record["cluster_name"], record["network"], record["trust_domain"]) == ("c", "c", "c")
    assert (record["cluster_name_defaulted"], record["network_defaulted"], record["trust_domain_defaulted"]) == (False, True, True)
    assert record["license_set"] is True


class Lazy(dict):
    """Counts which variables were read (as Ansible's lazy hostvars template only those)."""

    def __init__(self, *args, **kwargs):
        super(Lazy, self).__init__(*args, **kwargs)
        self.read = []

    def __getitem__(self, key):
        self.read.append(key)
        return super(Lazy, self).__getitem__(key)


def test_reads_only_its_variables():
    variables = Lazy(mesh_network="n", expensive="x", mesh_license_key="secret")
    m.host_identity(getter(variables), "h")
    assert sorted(set(variables.read)) == ["mesh_cluster_name", "mesh_network", "mesh_trust_domain"]


@pytest.mark.parametrize("value,is_set", [(None, False), ("", False), ("  \n", False), (0, False), ("k", True), (12345, True)])
def test_license_is_set(value, is_set):
    assert m.license_is_set(value) is is_set


def test_cluster_inputs_never_carry_the_license():
    item = m.cluster_inputs(getter({"kube_context": "ctx", "mesh_license_key": "TOP-SECRET", "mesh_network": ""}), "h")
    assert item == {"host": "h", "kube_context": "ctx", "kubeconfig_path": None, "cluster_name": None, "network": "", "trust_domain": None,
                    "istio_version": None, "license_set": True}
    assert "TOP-SECRET" not in repr(item)


def test_getter_treats_the_given_errors_as_undefined():
    class Broken(dict):
        def __getitem__(self, key):
            raise LookupError(key)

    assert m.variable_getter(Broken(), (KeyError, LookupError))("x") is None
    with pytest.raises(LookupError):
        m.variable_getter(Broken())("x")
