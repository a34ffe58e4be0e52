# -*- coding: utf-8 -*-
"""The spiffe_ids role waits for its ClusterSPIFFEIDs and for the SPIRE chart's ones of the same class (the real chart renders
three: default, OIDC discovery provider, test keys), not for those of another class: one k8s_apply wait with a rule on the
applied objects and a rule on every object of the class."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "module_utils"))

from k8s_fake import FakeCluster, api  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_apply  # noqa: E402

KINDS = {"spire.spiffe.io/v1alpha1": {"ClusterSPIFFEID": ("clusterspiffeids", False)}}


def _csid(name, class_name="spire-server-spire", stats=True):
    item = {"apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID", "metadata": {"name": name},
            "spec": {"className": class_name} if class_name is not None else {}}
    if stats:
        item["status"] = {"stats": {"podsSelected": 1}}
    return item


def _role_wait(renderer):
    from ansible.template import trust_as_template
    variables = dict(renderer.load("roles/spiffe_ids/defaults/main.yml"), **renderer.load("roles/spiffe_ids/vars/main.yml"))
    variables.update(spire_namespace="spire-server", spire_release_name="spire", inventory_hostname="cluster1")
    wait = renderer.render(trust_as_template("{{ spiffe_ids_wait }}"), variables)
    wait.update(retries=1, delay=0)
    for rule in wait["objects"]:
        rule.setdefault("all", False)
        rule.setdefault("match_fields", {})
    return wait


def test_the_wait_covers_the_charts_ids_of_the_class_and_a_timeout_says_which(renderer):
    wait = _role_wait(renderer)

    def unreconciled(cluster):
        ours = [_csid(n, stats=False) for n in ("istio-ztunnel-reg", "istio-waypoint-reg")]
        result = _k8s_apply.run(api(cluster), {"cluster": "c1", "definitions": ours, "wait": wait}, sleep=lambda seconds: None)
        return result["ready"], result["not_ready"], result.get("msg")

    cluster = FakeCluster(KINDS)
    # the applied ones, as the controller manager would have reconciled them, and the chart's ones of the same class
    for name in ("istio-ztunnel-reg", "istio-waypoint-reg", "spire-server-spire-default"):
        cluster.add(_csid(name))
    assert unreconciled(cluster) == (True, [], None)
    cluster.add(_csid("spire-server-spire-oidc-discovery-provider", stats=False))
    cluster.add(_csid("spire-server-spire-test-keys", stats=False))
    ready, not_ready, message = unreconciled(cluster)
    assert not ready and not_ready == ["ClusterSPIFFEID spire-server-spire-oidc-discovery-provider: no status.stats",
                                       "ClusterSPIFFEID spire-server-spire-test-keys: no status.stats"]
    assert message.startswith("ClusterSPIFFEIDs without status.stats on cluster1 after 30 x 2 s: ClusterSPIFFEID "
                              "spire-server-spire-oidc-discovery-provider: no status.stats, ClusterSPIFFEID spire-server-spire-test-keys: "
                              "no status.stats (className spire-server-spire). The controller manager reconciles only its class"), message
    # another class, or none: another controller manager's business
    for path in [key for key in cluster.objects if "oidc" in key or "test-keys" in key]:
        del cluster.objects[path]
    cluster.add(_csid("theirs", class_name="other", stats=False))
    cluster.add(_csid("classless", class_name=None, stats=False))
    assert unreconciled(cluster) == (True, [], None)
