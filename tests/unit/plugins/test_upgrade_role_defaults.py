# -*- coding: utf-8 -*-
"""The upgrade role falls back on the install roles' defaults (versions, namespaces, release names): the same values, so that a
plan without those variables in the inventory targets what the install roles would install."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _defaults(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


def _strings(node):
    """Every string of a YAML document."""
    if isinstance(node, dict):
        return [item for value in node.values() for item in _strings(value)]
    if isinstance(node, list):
        return [item for value in node for item in _strings(value)]
    return [node] if isinstance(node, str) else []


def test_fallbacks_equal_the_install_roles_defaults():
    install = dict(_defaults("spire"), **_defaults("gloo_operator"))
    text = "\n".join(_strings(_defaults("upgrade")))
    fallbacks = re.findall(r"\b(spire_[a-z_]+|gloo_operator_[a-z_]+) \| default\('([^']*)'\)", text)
    names = set(name for name, dummy in fallbacks)
    assert {"spire_crds_chart_version", "spire_chart_version", "gloo_operator_chart_version", "spire_namespace", "gloo_operator_namespace",
            "spire_crds_release_name", "spire_release_name", "gloo_operator_release_name", "gloo_operator_smc_name",
            "gloo_operator_install_namespace"} <= names
    for name, value in fallbacks:
        assert str(install[name]) == value, "%s: the upgrade role falls back on %r, the install role's default is %r" % (name, value, install[name])
