# -*- coding: utf-8 -*-
"""Render Jinja as Ansible does (ansible-core's Templar, this collection's plugins loaded): the role files as they are, and
the Jinja they replaced (tests/unit/plugins/legacy), so that tests can compare the two on the same inputs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
LEGACY = os.path.join(HERE, "legacy")

_STATE = {}


def _loader():
    if "loader" not in _STATE:
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins.loader import init_plugin_loader

        init_plugin_loader([os.path.join(ROOT, ".build", "collections")])
        _STATE["loader"] = DataLoader()
    return _STATE["loader"]


class Renderer(object):
    """Templates values with variables, as a task would see them."""

    def load(self, relpath):
        """A YAML file of the collection, its strings trusted as templates (as Ansible loads role files)."""
        return _loader().load_from_file(os.path.join(ROOT, relpath), cache="none", trusted_as_template=True)

    def legacy(self, name):
        """The Jinja text a piece of the collection had before it moved to plugin code."""
        from ansible.template import trust_as_template

        with open(os.path.join(LEGACY, name)) as handle:
            return trust_as_template(handle.read())

    def text(self, relpath):
        """A template file of the collection (roles/*/templates)."""
        from ansible.template import trust_as_template

        with open(os.path.join(ROOT, relpath)) as handle:
            return trust_as_template(handle.read())

    def render(self, template, variables):
        """``template`` (a trusted string, or a structure of them) templated with ``variables``; ``vars`` is set as Ansible sets it."""
        from ansible.template import Templar

        variables = dict(variables)
        variables.setdefault("vars", copy.copy(variables))
        return Templar(loader=_loader(), variables=variables).template(template)


# Before any test module imports a plugin of the collection: the plugins must come through the collection loader.
_loader()


@pytest.fixture
def renderer():
    return Renderer()
