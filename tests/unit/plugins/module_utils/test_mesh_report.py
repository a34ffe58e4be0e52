# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "checks"))

from mesh_fixtures import healthy  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import registry  # noqa: E402


def _run(snaps, **options):
    findings = registry.run_checks(snaps, options)
    return findings, registry.summarize(findings, snaps)


def test_text_healthy_one_line_per_check():
    findings, summary = _run(healthy())
    lines = _report.text_lines(findings, summary)
    assert lines[0] == "=== Cluster: cluster1 ==="
    assert "=== Cluster: cluster2 ===" in lines
    assert "✅ Incompatible Environment Variable Check: all relevant environment variables are valid" in lines
    assert "✅ Pod Check (istiod): all pods healthy" in lines
    assert "✅ Peers Check: all clusters connected" in lines
    assert "⚠️ Stale Workloads Check: no autogenflat workload entries found" in lines
    assert lines[-1] == "✅ Multicluster check passed with warnings (2 warnings)"
    section = lines[1:lines.index("=== Cluster: cluster2 ===") - 1]
    assert len(section) == len(registry.CHECK_IDS)
    assert "✅ Intermediate Certs Compatibility Check: all clusters have compatible intermediate certificates" in section
    assert any(line.startswith("✅ SPIRE Upstream CA Check: SPIRE upstream CA chains to the shared root") for line in section)


def test_text_verbose_has_sections_details_hints():
    snaps = healthy()
    snaps["cluster1"]["istiod_deployments"][0]["env"]["ENABLE_PEERING_DISCOVERY"] = "false"
    findings, summary = _run(snaps)
    lines = _report.text_lines(findings, summary, verbose=True)
    assert "--- Incompatible Environment Variable Check ---" in lines
    assert "--- Peers Check ---" in lines and "- gloo.solo.io/PeerConnected: True" in lines and "Status: connected ✅" in lines
    assert any(line.startswith("   ↳ Check the istiod environment") for line in lines)
    assert lines[-1].startswith("❌ Multicluster check found issues: Incompatible Environment Variable Check failed (1 errors")
    short = _report.text_lines(findings, summary)
    assert ('❌ Incompatible Environment Variable Check: ENABLE_PEERING_DISCOVERY is invalid ("false"): '
            'must be enabled for multicluster service discovery') in short
    assert short[-1].startswith("Run with verbose output")


def test_text_mesh_wide_section():
    snaps = healthy()
    findings, summary = _run(snaps, flat_network=True)
    findings.append({"check": "network", "cluster": None, "level": "info", "message": "x", "hint": ""})
    lines = _report.text_lines(findings, registry.summarize(findings, snaps))
    assert "=== Multicluster ===" in lines


def test_json_and_junit():
    snaps = healthy()
    snaps["cluster2"]["pods"]["istiod"][0]["ready"] = False
    findings, summary = _run(snaps)
    doc = json.loads(_report.to_json(findings, summary, {"x": 1}))
    assert doc["summary"]["failed_checks"] == ["pods_istiod"] and doc["meta"] == {"x": 1}
    root = ET.fromstring(_report.to_junit(findings, summary).encode("utf-8"))
    cases = root.findall(".//testcase")
    assert len(cases) == 2 * len(registry.CHECK_IDS)
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["Pod Check (istiod) [cluster2]"]
    assert root.get("failures") == "1"
    assert "1 of 1 pods unhealthy" in failed[0].find("failure").get("message")


def test_topology_and_html():
    snaps = healthy(3)
    gw = [g for g in snaps["cluster1"]["gateways"] if g["name"] == "istio-remote-peer-cluster2"][0]
    gw["conditions"] = [c for c in gw["conditions"] if c["type"] != "gloo.solo.io/PeerConnected"]
    snaps["cluster3"]["gateways"] = [g for g in snaps["cluster3"]["gateways"] if g["name"] != "istio-remote-peer-cluster1"]
    findings, summary = _run(snaps)
    nodes, edges = _report.topology(snaps, findings)
    assert [n["name"] for n in nodes] == ["cluster1", "cluster2", "cluster3"]
    status = dict(((e["source"], e["target"]), e["status"]) for e in edges)
    assert status[("cluster1", "cluster2")] == "error" and status[("cluster2", "cluster1")] == "ok"
    assert status[("cluster3", "cluster1")] == "missing" and len(edges) == 6
    html = _report.to_html(findings, summary, snaps)
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "cluster3" in html
    assert "#d3302f" in html and "stroke-dasharray" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_a_cluster_not_read_is_in_every_format():
    snaps = healthy()
    del snaps["cluster2"]
    findings = registry.unread_findings([("cluster2", "cluster cluster2: GET /api/v1/namespaces failed: 503")]) + registry.run_checks(snaps, {})
    summary = registry.summarize(findings, snaps, ["cluster2"])
    assert summary["passed"] is False and summary["clusters"] == ["cluster1", "cluster2"] and summary["failed_checks"] == ["cluster_read"]
    lines = _report.text_lines(findings, summary)
    assert lines[lines.index("=== Cluster: cluster2 ===") + 1] == "❌ Cluster Read Check: not checked: cluster cluster2: GET /api/v1/namespaces failed: 503"
    assert lines[-3:] == ["❌ Multicluster check incomplete: cluster2 could not be read, the mesh was not fully checked",
                          "The checks found no issue in the clusters read (1 warnings)",
                          "Run with verbose output (-v / mesh_check_verbose: true) to see details and troubleshooting hints"]
    assert json.loads(_report.to_json(findings, summary))["summary"]["unread_clusters"] == ["cluster2"]
    root = ET.fromstring(_report.to_junit(findings, summary).encode("utf-8"))
    failed = [c.get("name") for c in root.findall(".//testcase") if c.find("failure") is not None]
    assert failed == ["Cluster Read Check [cluster2]"] and root.get("failures") == "1"
    html = _report.to_html(findings, summary, snaps)
    assert "Multicluster check not fully checked (cluster2 could not be read)" in html and 'class="verdict issues"' in html
    nodes, edges = _report.topology(snaps, findings, summary["clusters"])
    assert nodes == [{"name": "cluster1", "status": "warning"}, {"name": "cluster2", "status": "error"}]


def test_html_of_a_fleet_has_a_peering_matrix_beside_the_topology_and_a_table_per_cluster():
    names = ["cluster%d" % (i + 1) for i in range(20)]
    nodes = [{"name": name, "status": "error" if name == "cluster7" else "ok"} for name in names]
    edges = [{"source": a, "target": b, "status": "error" if (a, b) == ("cluster7", "cluster3") else "ok", "gateway": "istio-eastwest/x"}
             for a in names for b in names if a != b and (a, b) != ("cluster2", "cluster5")]
    matrix = _report.svg_peer_matrix(nodes, edges)
    assert matrix.count("<rect") == 20 * 20 and matrix.count('fill="#eeeeee"') == 20
    assert matrix.count('fill="%s"' % _report.STATUS_COLOURS["error"]) == 1 and matrix.count('fill="%s"' % _report.STATUS_COLOURS["missing"]) == 1
    assert "cluster7 -&gt; cluster3: error (istio-eastwest/x)" in matrix and "cluster2 -&gt; cluster5: missing" in matrix
    picture = _report.svg_topology(nodes, edges)
    # fine peerings pale and without arrow heads, the faulty one drawn over them with its arrow
    assert picture.count('stroke-opacity="0.25"') == len(edges) - 1 and picture.count("marker-end") == 1
    summary = {"clusters": names, "passed": False, "counts": {"error": 1},
               "checks": [{"id": "peers", "title": "Peers", "status": "error", "clusters": dict((n, "ok") for n in names)}]}
    html = _report.to_html([], summary, {})
    assert "<h2>Peerings</h2>" in html and 'class="vertical" title="Peers"><span>peers</span>' in html
    assert html.count("<tr><th>cluster") == 20  # a row per cluster
