# -*- coding: utf-8 -*-
"""The naming rules: DNS-1123 labels and SPIFFE trust domains, one implementation for validation, checks and the PKI plan."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _naming as n
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _validation
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import naming as check_naming


@pytest.mark.parametrize("value", ["a", "0", "cluster1", "prod-eu1", "1-2-3", "a" * 63])
def test_labels(value):
    assert n.is_dns1123_label(value) and n.dns1123_label_violations(value) == []


@pytest.mark.parametrize("value,reasons", [
    ("a" * 64, ["is 64 characters long (max 63)"]),
    ("Cluster1", ["contains characters other than lowercase letters, digits and '-'"]),
    ("-a", ["starts or ends with '-'"]),
    ("a-", ["starts or ends with '-'"]),
    ("a_b", ["contains characters other than lowercase letters, digits and '-'"]),
    ("a.b", ["contains characters other than lowercase letters, digits and '-'"]),
    ("abc\n", ["contains characters other than lowercase letters, digits and '-'"]),
    ("", []),
])
def test_not_labels(value, reasons):
    assert not n.is_dns1123_label(value)
    if value:
        assert n.dns1123_label_violations(value) == reasons


@pytest.mark.parametrize("value", [None, 42, ["a"]])
def test_only_strings_are_labels(value):
    assert not n.is_dns1123_label(value) and not n.is_trust_domain(value)


@pytest.mark.parametrize("value,suggestion", [("net_1", "net-1"), ("Cluster1", "cluster1"), ("-net-", "net"), ("a" * 70, "a" * 63),
                                              ("eu  west", "eu-west"), ("___", "")])
def test_suggestion(value, suggestion):
    assert n.suggest_dns1123_label(value) == suggestion


@pytest.mark.parametrize("value", ["cluster.local", "my_td-1.example", "a", "a" * 255])
def test_trust_domains(value):
    assert n.is_trust_domain(value) and n.trust_domain_violations(value) == ([], value)


@pytest.mark.parametrize("value,reasons,suggestion", [
    ("spiffe://Example.org:8443/x", ["has a scheme (spiffe://)", "has a path", "has a port", "has uppercase letters"], "example.org"),
    ("a b", ["has characters other than lowercase letters, digits, '.', '-' and '_'"], "a-b"),
    ("a" * 256, ["is 256 characters long (max 255)"], "a" * 255),
    ("", ["is malformed"], ""),
])
def test_not_trust_domains(value, reasons, suggestion):
    assert not n.is_trust_domain(value)
    assert n.trust_domain_violations(value) == (reasons, suggestion)


@pytest.mark.parametrize("value", ["cluster1", "Cluster1", "a" * 63, "a" * 64, "-a", "a.b", "x_y", ""])
def test_one_rule_for_validation_and_checks(value):
    assert _validation.is_dns1123_label(value) == check_naming.valid_dns1123_label(value) == n.is_dns1123_label(value)
    assert check_naming.valid_trust_domain(value) == n.is_trust_domain(value)
    assert (_validation.check_dns1123_label("h", "v", value) == []) == (value != "" and n.is_dns1123_label(value))
