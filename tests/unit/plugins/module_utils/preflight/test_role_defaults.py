# -*- coding: utf-8 -*-
"""The preflight role's defaults fall back to the install roles' own defaults (a preflight run alone, where those roles are
not loaded, checks what the install would do), and its PKI root comes from the PKI layout or the inventory variable."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
FALLBACK = re.compile(r"^\{\{ (\w+) \| default\((.+)\) \}\}$")


def _defaults(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as handle:
        return yaml.safe_load(handle)


def test_fallbacks_are_the_install_roles_defaults():
    install = {}
    for role in ("spire", "gloo_operator", "eastwest"):
        install.update(_defaults(role))
    checked = []
    for name, value in _defaults("preflight").items():
        match = FALLBACK.match(str(value))
        if not match or match.group(1) not in install:
            continue
        fallback = yaml.safe_load(match.group(2))
        assert str(fallback) == str(install[match.group(1)]), "%s falls back to %r, %s defaults to %r" % (
            name, fallback, match.group(1), install[match.group(1)])
        checked.append(match.group(1))
    assert len(checked) >= 10, checked


def test_pki_root_from_the_tree_or_the_inventory(renderer, tmp_path):
    from ansible.template import trust_as_template
    variables = dict(renderer.load("roles/preflight/defaults/main.yml"), **renderer.load("roles/preflight/vars/main.yml"))
    variables.update(inventory_hostname="cluster1")

    def root(**extra):
        return renderer.render(trust_as_template("{{ preflight_pki_root_ca_cert }}"), dict(variables, **extra)).strip()
    pki = tmp_path / "pki"
    assert root(pki_dir=str(pki)) == ""                       # no root yet
    byo = tmp_path / "byo.pem"
    byo.write_text("BROUGHT IN\n")
    assert root(pki_dir=str(pki), pki_root_ca_cert_path=str(byo)) == "BROUGHT IN"
    pki.mkdir()
    (pki / "root-ca-bundle.pem").write_text("THE BUNDLE\n")
    assert root(pki_dir=str(pki), pki_root_ca_cert_path=str(byo)) == "THE BUNDLE"   # the tree's bundle once the pki role ran
    assert root(pki_dir=str(pki), pki_store="inventory", pki_root_ca_cert="FROM VAULT") == "FROM VAULT"
    assert root(pki_store="inventory") == ""
