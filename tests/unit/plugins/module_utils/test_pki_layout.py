# -*- coding: utf-8 -*-
"""The PKI tree: the one place that knows where the root, the bundle and each cluster's intermediates live."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_layout as layout


def test_tree_paths():
    assert layout.pki_paths("/srv/pki") == {
        "dir": "/srv/pki", "root_dir": "/srv/pki/root", "root_cert": "/srv/pki/root/root-ca.crt", "root_key": "/srv/pki/root/root-ca.key",
        "root_bundle": "/srv/pki/root-ca-bundle.pem", "clusters_dir": "/srv/pki/clusters", "rotations_dir": "/srv/pki/rotations",
        "archive_dir": "/srv/pki/archive"}


def test_rotation_paths_and_their_tree():
    paths = layout.rotation_paths("/srv/pki/", "chg-42")
    assert paths == {"dir": "/srv/pki/rotations/chg-42", "state": "/srv/pki/rotations/chg-42/state.json",
                     "archive_dir": "/srv/pki/archive/chg-42", "archive_root_cert": "/srv/pki/archive/chg-42/root-ca.crt",
                     "archive_root_key": "/srv/pki/archive/chg-42/root-ca.key"}
    # a rotation's own tree has the layout of the main one
    assert layout.pki_paths(paths["dir"], "east")["istio"]["cert"] == "/srv/pki/rotations/chg-42/clusters/east/istio/ca-cert.pem"
    assert layout.pki_paths(paths["dir"])["root_key"] == "/srv/pki/rotations/chg-42/root/root-ca.key"


@pytest.mark.parametrize("rotation", ["", "a/b", ".", "..", ".hidden"])
def test_a_rotation_id_must_name_one_directory(rotation):
    with pytest.raises(ValueError, match="cannot name a directory"):
        layout.rotation_paths("/srv/pki", rotation)


def test_cluster_paths():
    paths = layout.pki_paths("/srv/pki/", "east")
    assert paths["cluster_dir"] == "/srv/pki/clusters/east"
    assert paths["spire"] == {"dir": "/srv/pki/clusters/east/spire", "cert": "/srv/pki/clusters/east/spire/ca.crt",
                              "key": "/srv/pki/clusters/east/spire/ca.key", "chain": "/srv/pki/clusters/east/spire/ca-chain.pem"}
    assert paths["istio"] == {"dir": "/srv/pki/clusters/east/istio", "cert": "/srv/pki/clusters/east/istio/ca-cert.pem",
                              "key": "/srv/pki/clusters/east/istio/ca-key.pem", "chain": "/srv/pki/clusters/east/istio/cert-chain.pem",
                              "root_cert": "/srv/pki/clusters/east/istio/root-cert.pem"}


def test_relative_and_root_dirs_are_kept_as_given():
    assert layout.pki_paths("pki")["root_bundle"] == "pki/root-ca-bundle.pem"
    assert layout.pki_paths("/")["root_dir"] == "//root"


@pytest.mark.parametrize("cluster", ["", "a/b", ".", "..", "../etc"])
def test_a_cluster_must_name_one_directory(cluster):
    with pytest.raises(ValueError, match="cannot name a directory"):
        layout.pki_paths("/srv/pki", cluster)


def test_directories_parents_first():
    assert layout.directories("/p", ["a", "b"]) == [
        "/p", "/p/root", "/p/clusters", "/p/clusters/a", "/p/clusters/a/spire", "/p/clusters/a/istio", "/p/clusters/b", "/p/clusters/b/spire",
        "/p/clusters/b/istio"]
