# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_tree, _x509
from ansible_collections.meshops.ambient_spire.plugins.module_utils._pki_plan import pki_plan

OPTIONS = {"key_type": "ECC", "key_size": 2048, "key_curve": "secp256r1", "digest": "sha256"}


def plan_for(tmp_path, clusters=("c1", "c2"), rotate=False):
    plan = pki_plan({"pki_dir": str(tmp_path / "pki"), "clusters": list(clusters), "rotate_intermediates": rotate},
                    os.path.isfile, os.path.realpath)
    plan["root"] = {"cert": plan["root_cert"], "key": plan["root_key"], "common_name": "Test Root", "pathlen": 2, "days": 30}
    return plan


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read(path):
    with open(path) as handle:
        return handle.read()


def test_a_fresh_tree_is_issued_in_one_run_and_a_second_run_changes_nothing(tmp_path):
    plan = plan_for(tmp_path)
    result = _pki_tree.converge_tree(plan, OPTIONS)
    assert result["changed"] and result["issued"] == ["root", "c1/spire", "c1/istio", "c2/spire", "c2/istio"]
    assert all(mode(d) == 0o700 for d in plan["dirs"][1:])
    root = _x509.load_pem_certificates(read(plan["root_cert"]))[0]
    assert _x509.basic_constraints(root)[1:3] == (True, 2) and _x509.is_self_issued(root)
    for item in plan["intermediates"]:
        cert = _x509.load_pem_certificates(read(item["cert"]))[0]
        assert _x509.signature_verifies(cert, root)
        assert item["cn"] in _x509.subject(cert)
        assert _x509.basic_constraints(cert)[1:3] == (True, item["pathlen"])
        assert _x509.key_matches_certificate(cert, read(item["key"]))
        assert mode(item["key"]) == 0o600 and mode(item["cert"]) == 0o644
    assert mode(plan["root_key"]) == 0o600
    for item in plan["files"]:
        certs = _x509.load_pem_certificates(read(item["dest"]))
        assert _x509.same_certificate(certs[-1], root)
        assert len(certs) == (1 if item["anchor"] else 2), item["dest"]
        assert mode(item["dest"]) == 0o644
    before = dict((p, read(p)) for p in result["written"])
    again = _pki_tree.converge_tree(plan_for(tmp_path), OPTIONS)
    assert not again["changed"] and again["written"] == [] and dict((p, read(p)) for p in before) == before


def test_check_mode_writes_nothing_and_says_what_would_be(tmp_path):
    result = _pki_tree.converge_tree(plan_for(tmp_path), OPTIONS, check_mode=True)
    assert result["changed"] and result["written"] == [] and not (tmp_path / "pki").exists()
    assert result["issued"][0] == "root" and len(result["files"]) == len(plan_for(tmp_path)["files"])


def test_a_rotation_issues_new_keys_and_rewrites_the_chains_but_keeps_the_root(tmp_path):
    _pki_tree.converge_tree(plan_for(tmp_path), OPTIONS)
    plan = plan_for(tmp_path, rotate=True)
    keys = dict((i["key"], read(i["key"])) for i in plan["intermediates"])
    root = read(plan["root_cert"]), read(plan["root_key"])
    predicted = _pki_tree.converge_tree(plan, OPTIONS, check_mode=True)
    result = _pki_tree.converge_tree(plan, OPTIONS)
    assert predicted["issued"] == result["issued"] == ["c1/spire", "c1/istio", "c2/spire", "c2/istio"]
    assert sorted(predicted["files"]) == sorted(result["files"]) and result["files"]
    assert all(read(path) != text for path, text in keys.items())
    assert (read(plan["root_cert"]), read(plan["root_key"])) == root


def test_a_missing_root_certificate_is_issued_for_the_existing_key(tmp_path):
    plan = plan_for(tmp_path, clusters=("c1",))
    _pki_tree.converge_tree(plan, OPTIONS)
    key = read(plan["root_key"])
    os.unlink(plan["root_cert"])
    result = _pki_tree.converge_tree(plan_for(tmp_path, clusters=("c1",)), OPTIONS)
    assert "root" in result["issued"] and read(plan["root_key"]) == key
    assert _x509.key_matches_certificate(_x509.load_pem_certificates(read(plan["root_cert"]))[0], key)


def test_modes_are_restored_and_an_edited_chain_is_rewritten(tmp_path):
    plan = plan_for(tmp_path, clusters=("c1",))
    _pki_tree.converge_tree(plan, OPTIONS)
    os.chmod(plan["dirs"][-1], 0o755)
    chain = plan["files"][0]["dest"]
    with open(chain, "w") as handle:
        handle.write("edited\n")
    result = _pki_tree.converge_tree(plan_for(tmp_path, clusters=("c1",)), OPTIONS)
    assert result["dirs"] == [plan["dirs"][-1]] and mode(plan["dirs"][-1]) == 0o700
    assert result["files"] == [chain] and result["issued"] == [] and "BEGIN CERTIFICATE" in read(chain)


def test_a_key_and_a_certificate_get_their_mode_back_and_check_mode_only_says_so(tmp_path):
    plan = plan_for(tmp_path, clusters=("c1",))
    _pki_tree.converge_tree(plan, OPTIONS)
    key, cert = plan["intermediates"][0]["key"], plan["intermediates"][0]["cert"]
    os.chmod(key, 0o644)
    os.chmod(cert, 0o600)
    predicted = _pki_tree.converge_tree(plan_for(tmp_path, clusters=("c1",)), OPTIONS, check_mode=True)
    assert predicted["changed"] and sorted(predicted["modes"]) == sorted([key, cert]) and mode(key) == 0o644
    result = _pki_tree.converge_tree(plan_for(tmp_path, clusters=("c1",)), OPTIONS)
    assert result["changed"] and sorted(result["modes"]) == sorted([key, cert]) and result["written"] == []
    assert mode(key) == 0o600 and mode(cert) == 0o644
    assert not _pki_tree.converge_tree(plan_for(tmp_path, clusters=("c1",)), OPTIONS)["changed"]


def test_an_unreadable_signing_ca_is_refused_naming_the_files(tmp_path):
    plan = plan_for(tmp_path, clusters=("c1",))
    del plan["root"]
    with pytest.raises(_pki_tree.TreeError) as exc:
        _pki_tree.converge_tree(plan, OPTIONS)
    assert plan["signing_cert"] in str(exc.value) and "PRIVATE" not in str(exc.value)
