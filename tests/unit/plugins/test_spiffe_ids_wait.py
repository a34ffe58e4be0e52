# -*- coding: utf-8 -*-
"""The spiffe_ids role waits for its ClusterSPIFFEIDs and for the SPIRE chart's ones of the same class (the real chart renders
three: default, OIDC discovery provider, test keys), not for those of another class."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def _csid(name, class_name="spire-server-spire", stats=True):
    item = {"metadata": {"name": name}, "spec": {"className": class_name} if class_name is not None else {}}
    if stats:
        item["status"] = {"stats": {"podsSelected": 1}}
    return item


def test_unreconciled_covers_the_charts_ids_of_the_class(renderer):
    from ansible.template import trust_as_template
    variables = dict(renderer.load("roles/spiffe_ids/defaults/main.yml"), **renderer.load("roles/spiffe_ids/vars/main.yml"))

    def unreconciled(resources):
        return sorted(renderer.render(trust_as_template("{{ spiffe_ids_unreconciled }}"), dict(variables, spiffe_ids_found={"resources": resources})))
    ours = [_csid(n) for n in ("istio-ztunnel-reg", "istio-waypoint-reg", "istio-ambient-reg")]
    assert unreconciled([]) == ["istio-ambient-reg", "istio-waypoint-reg", "istio-ztunnel-reg"]
    assert unreconciled(ours) == []
    charts = [_csid("spire-server-spire-default"), _csid("spire-server-spire-oidc-discovery-provider", stats=False),
              _csid("spire-server-spire-test-keys", stats=False)]
    assert unreconciled(ours + charts) == ["spire-server-spire-oidc-discovery-provider", "spire-server-spire-test-keys"]
    # another class, or none: another controller manager's business
    assert unreconciled(ours + [_csid("theirs", class_name="other", stats=False), _csid("classless", class_name=None, stats=False)]) == []
