# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports of check findings: istioctl-like text, JSON, JUnit XML, self-contained HTML with an SVG topology.

PRIVATE to the collection: may change at any time. Pure functions of (findings, summary, snapshots), and the writing of the
report files (only those whose content changed). The mesh check is the default; another set of checks (the preflight) passes
its own ``Catalog`` (check ids and titles in report order, the name of the verdict).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import math
import os
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import (
    PEER_CONNECTED,
    PEERING_SUCCEEDED,
    REMOTE_CLASS,
    condition,
    gateways_of_class,
    peer_target_cluster,
    worst,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import READ_ID, REPORTED, TITLES

ICONS = {"ok": "✅", "info": "ℹ ", "warning": "⚠️", "error": "❌"}
EXTENSIONS = {"json": ".json", "junit": ".junit.xml", "html": ".html", "text": ".txt"}


class Catalog(object):
    """What a report is about: the checks in report order ((id, title, function) tuples, the read check first), the id of the
    finding of a cluster that could not be read, the name of the verdict, what was checked (for "the mesh was not fully
    checked"), the heading of findings that belong to no cluster, and the advice printed under a short report with issues."""

    def __init__(self, reported, read_id, name, subject, unscoped_heading, verbose_hint):  # pylint: disable=too-many-arguments
        self.reported = tuple(reported)
        self.titles = dict((cid, title) for cid, title, dummy in self.reported)
        self.read_id = read_id
        self.name = name
        self.subject = subject
        self.unscoped_heading = unscoped_heading
        self.verbose_hint = verbose_hint


MESH_CHECK = Catalog(REPORTED, READ_ID, "Multicluster check", "mesh", "Multicluster",
                     "Run with verbose output (-v / mesh_check_verbose: true) to see details and troubleshooting hints")
# HTML: plain symbols in coloured badges (emoji fonts are often missing in headless or minimal browsers)
HTML_ICONS = {"ok": "✓", "info": "i", "warning": "!", "error": "✗", "missing": "–"}


def _badge(level):
    return '<span class="badge %s">%s</span>' % (level, HTML_ICONS.get(level, "–"))


MESH = "mesh"


def _line(f, catalog=MESH_CHECK):
    return "%s %s: %s" % (ICONS[f["level"]], catalog.titles.get(f["check"], f["check"]), f["message"])


def _sections(findings, clusters, catalog=MESH_CHECK):
    """[(cluster or None, [(check id, [findings])])] in report order."""
    order = list(clusters)
    if any(f["cluster"] is None or f["cluster"] not in order for f in findings):
        extra = [f["cluster"] for f in findings if f["cluster"] is not None and f["cluster"] not in order]
        order += sorted(set(extra)) + [None]
    result = []
    for cluster in order:
        groups = []
        for cid, dummy, dummy2 in catalog.reported:
            own = [f for f in findings if f["check"] == cid and f["cluster"] == cluster]
            if own:
                groups.append((cid, own))
        if groups:
            result.append((cluster, groups))
    return result


def text_lines(findings, summary, verbose=False, catalog=MESH_CHECK):
    """The istioctl-like report as a list of lines.

    Not verbose: one line per check and cluster (its errors and warnings, else its summary line).
    Verbose: a section per check with every finding, the details (pods, addresses, conditions) and the hints.
    """
    lines = []
    clusters = summary.get("clusters") or []
    for cluster, groups in _sections(findings, clusters, catalog):
        if lines:
            lines.append("")
        lines.append("=== Cluster: %s ===" % cluster if cluster is not None else "=== %s ===" % catalog.unscoped_heading)
        for cid, own in groups:
            if verbose:
                lines.append("")
                lines.append("--- %s ---" % catalog.titles.get(cid, cid))
                lines.append("")
                for f in own:
                    if f.get("details"):
                        lines.extend(f["details"])
                        lines.append("")
                    lines.append(_line(f, catalog))
                hints = []
                for f in own:
                    if f["level"] in ("error", "warning") and f.get("hint") and f["hint"] not in hints:
                        hints.append(f["hint"])
                for hint in hints:
                    lines.append("   ↳ %s" % hint)
            else:
                bad = [f for f in own if f["level"] in ("error", "warning")]
                if bad:
                    lines.extend(_line(f, catalog) for f in bad)
                else:
                    oks = [f for f in own if f["level"] == "ok"] or own
                    lines.append(_line(oks[-1], catalog))
    lines.append("")
    counts = summary.get("counts") or {}
    unread = summary.get("unread_clusters") or []
    failed = [c for c in summary.get("failed_checks") or [] if c != catalog.read_id]
    if unread:
        lines.append("❌ %s incomplete: %s could not be read, the %s was not fully checked" % (catalog.name, ", ".join(unread), catalog.subject))
    if failed:
        lines.append("❌ %s found issues: %s failed (%d errors, %d warnings)" % (
            catalog.name, ", ".join(catalog.titles.get(c, c) for c in failed), counts.get("error", 0) - len(unread), counts.get("warning", 0)))
    elif unread:
        lines.append("The checks found no issue in the clusters read (%d warnings)" % counts.get("warning", 0))
    elif summary.get("warning_checks"):
        lines.append("✅ %s passed with warnings (%d warnings)" % (catalog.name, counts.get("warning", 0)))
    else:
        lines.append("✅ %s passed" % catalog.name)
    if (failed or unread) and not verbose:
        lines.append(catalog.verbose_hint)
    return lines


def verdict(summary):
    """One phrase for the whole mesh: passed, found issues, or not fully checked."""
    if summary.get("unread_clusters"):
        return "not fully checked (%s could not be read)" % ", ".join(summary["unread_clusters"])
    return "passed" if summary.get("passed") else "found issues"


def to_json(findings, summary, meta=None):
    return json.dumps({"summary": summary, "findings": findings, "meta": meta or {}}, indent=2, sort_keys=True, ensure_ascii=False)


def to_junit(findings, summary, suite_name="mesh_check", catalog=MESH_CHECK):
    """JUnit XML: one testsuite per check, one testcase per check and cluster (error = failure, warning = system-out)."""
    suites = []
    total = failures = 0
    for cid, title, dummy in catalog.reported:
        own = [f for f in findings if f["check"] == cid]
        if not own:
            continue
        cases = []
        keys = []
        for f in own:
            key = f["cluster"] or MESH
            if key not in keys:
                keys.append(key)
        suite_failures = 0
        for key in keys:
            mine = [f for f in own if (f["cluster"] or MESH) == key]
            level = worst(f["level"] for f in mine)
            body = "\n".join(_line(f, catalog) + ("\n  hint: %s" % f["hint"] if f.get("hint") and f["level"] in ("error", "warning") else "")
                             for f in mine)
            inner = ""
            if level == "error":
                suite_failures += 1
                msg = "; ".join(f["message"] for f in mine if f["level"] == "error")
                inner += "<failure message=%s type=\"error\">%s</failure>" % (quoteattr(msg), escape(body))
            inner += "<system-out>%s</system-out>" % escape(body)
            cases.append("    <testcase classname=%s name=%s>%s</testcase>" % (
                quoteattr("%s.%s" % (suite_name, cid)), quoteattr("%s [%s]" % (title, key)), inner))
        total += len(cases)
        failures += suite_failures
        suites.append("  <testsuite name=%s tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"0\">\n%s\n  </testsuite>" % (
            quoteattr(title), len(cases), suite_failures, "\n".join(cases)))
    return '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name=%s tests="%d" failures="%d" errors="0">\n%s\n</testsuites>\n' % (
        quoteattr(suite_name), total, failures, "\n".join(suites))


def _unchanged(path, content):
    try:
        with open(path, "rb") as handle:
            return handle.read() == content.encode("utf-8")
    except (IOError, OSError):
        return False


def write_files(directory, basename, contents, check_mode=False):
    """Write {format: content} to <directory>/<basename><extension>, each file only when its content changed, none in check mode.

    -> ({format: path}, whether any file changed (in check mode: would change)). Raises IOError/OSError.
    """
    files = {}
    changed = False
    for fmt, content in contents.items():
        path = os.path.join(directory, basename + EXTENSIONS[fmt])
        files[fmt] = path
        if _unchanged(path, content):
            continue
        changed = True
        if check_mode:
            continue
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        tmp = path + ".tmp"
        with open(tmp, "wb") as handle:
            handle.write(content.encode("utf-8"))
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    return files, changed


STATUS_COLOURS = {"ok": "#2e9e44", "info": "#2e9e44", "warning": "#d99a00", "error": "#d3302f", "missing": "#9a9a9a"}


def topology(snapshots, findings, clusters=None):
    """Nodes (clusters with their worst level) and directed peering edges (status from the peer gateway conditions).

    clusters: every cluster to draw (default: the snapshots); one without a snapshot (not read) has no edges.
    """
    nodes = []
    for name in clusters if clusters is not None else snapshots:
        level = worst(f["level"] for f in findings if f["cluster"] == name)
        nodes.append({"name": name, "status": level})
    edges = []
    for name, snap in snapshots.items():
        for gw in gateways_of_class(snap, REMOTE_CLASS):
            target = peer_target_cluster(gw)
            conds = [condition(gw, t) for t in (PEER_CONNECTED, PEERING_SUCCEEDED)]
            if all(c is not None and c.get("status") == "True" for c in conds):
                status = "ok"
            elif conds[0] is not None and conds[0].get("status") == "True":
                status = "warning"
            else:
                status = "error"
            edges.append({"source": name, "target": target, "status": status, "gateway": "%s/%s" % (gw.get("namespace"), gw.get("name"))})
        for other in snapshots:
            if other != name and not any(e["source"] == name and e["target"] == other for e in edges):
                edges.append({"source": name, "target": other, "status": "missing", "gateway": None})
    return nodes, edges


def svg_topology(nodes, edges, size=520):
    """An SVG picture: clusters on a circle, one arrow per peering (source cluster -> peer), coloured by status.

    Beyond a dozen clusters the nodes shrink, their names go outside the circle, and the peerings that are fine are drawn
    thin and pale under the others, so that the ones with a problem stand out (the matrix beside it gives every pair).
    """
    n = max(len(nodes), 1)
    crowded = n > 12
    size = size if not crowded else max(size, 640)
    centre = size / 2.0
    margin = 80 if not crowded else 110
    radius = size / 2.0 - margin if n > 1 else 0
    node_r = 46 if not crowded else max(6, int(46 * 12 / n))
    pos = {}
    angles = {}
    for i, node in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / n
        angles[node["name"]] = angle
        pos[node["name"]] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="mesh topology">' % (
        size, size, size, size)]
    parts.append('<defs>')
    for status, colour in STATUS_COLOURS.items():
        parts.append('<marker id="arrow-%s" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                     '<path d="M 0 0 L 10 5 L 0 10 z" fill="%s"/></marker>' % (status, colour))
    parts.append('</defs>')
    # fine peerings first (underneath), then the others
    for edge in sorted(edges, key=lambda e: e["status"] not in ("ok", "info")):
        if edge["source"] not in pos or edge["target"] not in pos:
            continue
        (x1, y1), (x2, y2) = pos[edge["source"]], pos[edge["target"]]
        dx, dy = x2 - x1, y2 - y1
        dist = math.hypot(dx, dy) or 1.0
        ux, uy = dx / dist, dy / dist
        offset = 7 if not crowded else 1.5
        ox, oy = -uy * offset, ux * offset  # offset both directions of a pair
        sx, sy = x1 + ux * node_r + ox, y1 + uy * node_r + oy
        ex, ey = x2 - ux * (node_r + 4) + ox, y2 - uy * (node_r + 4) + oy
        colour = STATUS_COLOURS.get(edge["status"], "#555")
        dash = ' stroke-dasharray="6 5"' if edge["status"] == "missing" else ""
        fine = edge["status"] in ("ok", "info")
        width, opacity = (3, 1) if not crowded else ((0.6, 0.25) if fine else (1.6, 0.9))
        marker = "" if crowded and fine else ' marker-end="url(#arrow-%s)"' % (edge["status"] if edge["status"] in STATUS_COLOURS else "missing")
        parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%s" stroke-opacity="%s"%s%s>'
                     '<title>%s</title></line>' % (sx, sy, ex, ey, colour, width, opacity, dash, marker,
                                                   escape("%s -> %s: %s" % (edge["source"], edge["target"], edge["status"]))))
    for node in nodes:
        x, y = pos[node["name"]]
        colour = STATUS_COLOURS.get(node["status"], "#555")
        title = '<title>%s</title>' % escape("%s: %s" % (node["name"], node["status"]))
        if not crowded:
            parts.append('<g><circle cx="%.1f" cy="%.1f" r="%d" fill="#ffffff" stroke="%s" stroke-width="5"/>'
                         '<text x="%.1f" y="%.1f" text-anchor="middle" font-family="sans-serif" font-size="14" font-weight="bold">%s</text>'
                         '<text x="%.1f" y="%.1f" text-anchor="middle" font-family="sans-serif" font-size="18">%s</text>'
                         '%s</g>' % (x, y, node_r, colour, x, y - 2, escape(node["name"]), x, y + 20, HTML_ICONS.get(node["status"], ""), title))
            continue
        angle = angles[node["name"]]
        lx, ly = centre + (radius + node_r + 6) * math.cos(angle), centre + (radius + node_r + 6) * math.sin(angle)
        degrees = math.degrees(angle)
        left = math.cos(angle) < 0
        rotate = degrees + 180 if left else degrees
        parts.append('<g><circle cx="%.1f" cy="%.1f" r="%d" fill="%s" stroke="#ffffff" stroke-width="1"/>'
                     '<text x="%.1f" y="%.1f" text-anchor="%s" dominant-baseline="middle" font-family="sans-serif" font-size="10" '
                     'transform="rotate(%.1f %.1f %.1f)">%s</text>%s</g>' % (
                         x, y, node_r, colour, lx, ly, "end" if left else "start", rotate, lx, ly, escape(node["name"]), title))
    parts.append('</svg>')
    return "".join(parts)


def svg_peer_matrix(nodes, edges, cell=None):
    """An SVG matrix of the peerings: a row per cluster (the one with the istio-remote-peer Gateway), a column per peer,
    each cell coloured by the status of that peering (grey diagonal); readable where the topology's arrows are too many."""
    names = [node["name"] for node in nodes]
    n = max(len(names), 1)
    cell = cell or (22 if n <= 12 else max(9, min(14, int(560 / n))))
    label = max([len(name) for name in names] + [4]) * 6 + 10
    status = dict(((edge["source"], edge["target"]), edge) for edge in edges)
    width = height = label + n * cell + 2
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="peering matrix" '
             'font-family="sans-serif" font-size="10">' % (width, height, width, height)]
    for i, name in enumerate(names):
        y = label + i * cell
        parts.append('<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>' % (label - 4, y + cell / 2.0, escape(name)))
        x = label + i * cell
        parts.append('<text x="%.1f" y="%d" text-anchor="start" dominant-baseline="middle" transform="rotate(-90 %.1f %d)">%s</text>' % (
            x + cell / 2.0, label - 4, x + cell / 2.0, label - 4, escape(name)))
    for i, source in enumerate(names):
        for j, target in enumerate(names):
            x, y = label + j * cell, label + i * cell
            if source == target:
                parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#eeeeee" stroke="#ffffff"/>' % (x, y, cell, cell))
                continue
            edge = status.get((source, target))
            level = edge["status"] if edge else "missing"
            parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#ffffff"><title>%s</title></rect>' % (
                x, y, cell, cell, STATUS_COLOURS.get(level, "#555"),
                escape("%s -> %s: %s%s" % (source, target, level, " (%s)" % edge["gateway"] if edge and edge.get("gateway") else ""))))
    parts.append('</svg>')
    return "".join(parts)


def svg_trend(points, width=520, height=140):
    """An SVG bar chart of the last runs, oldest left: per run its errors (red) and warnings (amber) stacked, drifted objects
    (blue) beside them, and a green or red dot for the verdict (clean, or not)."""
    n = len(points)
    if not n:
        return ""
    top = max([p["errors"] + p["warnings"] for p in points] + [p["drifted"] for p in points] + [1])
    left, bottom, plot = 28, height - 24, height - 44
    slot = (width - left - 8) / float(n)
    bar_width = max(min(slot * 0.4, 18), 2)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="trend of the last runs">' % (
        width, height, width, height)]
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>' % (left, bottom, width - 4, bottom))
    parts.append('<text x="2" y="%d" font-family="sans-serif" font-size="11">%d</text>' % (bottom - plot + 4, top))
    parts.append('<text x="2" y="%d" font-family="sans-serif" font-size="11">0</text>' % bottom)
    for i, point in enumerate(points):
        x = left + slot * i + (slot - 2 * bar_width) / 2.0
        y = bottom
        for count, colour in ((point["errors"], STATUS_COLOURS["error"]), (point["warnings"], STATUS_COLOURS["warning"])):
            h = plot * count / float(top)
            if h:
                parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (x, y - h, bar_width, h, colour))
                y -= h
        h = plot * point["drifted"] / float(top)
        if h:
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#3b6fb6"/>' % (x + bar_width, bottom - h, bar_width, h))
        parts.append('<circle cx="%.1f" cy="%d" r="4" fill="%s"><title>%s</title></circle>' % (
            x + bar_width, bottom + 12, STATUS_COLOURS["ok"] if point["clean"] else STATUS_COLOURS["error"],
            escape("%s: %s, %d errors, %d warnings, %d drifted objects" % (
                point.get("time"), "clean" if point["clean"] else "not clean", point["errors"], point["warnings"], point["drifted"]))))
    parts.append('</svg>')
    return "".join(parts)


def trend_section(points, drift=None):
    """The HTML of the trend of the last runs (oldest first) and of this run's drifted objects; '' without points."""
    if not points:
        return ""
    rows = "".join('<tr><td>%s</td><td class="%s">%s</td><td>%d</td><td>%d</td><td>%d</td></tr>' % (
        escape(str(p.get("time") or "")), "ok" if p["clean"] else "error", "clean" if p["clean"] else ("drift" if p["drifted"] else "issues"),
        p["errors"], p["warnings"], p["drifted"]) for p in reversed(points))
    drifted = ""
    if drift:
        items = "".join("<li>%s %s %s (%s)%s</li>" % (
            escape(d.get("cluster") or ""), escape(d.get("kind") or ""),
            escape("%s/%s" % (d["namespace"], d["name"]) if d.get("namespace") else d.get("name") or ""), escape(d.get("action") or ""),
            (": <code>%s</code>" % escape(", ".join(d["fields"]))) if d.get("fields") else "") for d in drift)
        drifted = "<h3>Drifted objects (what a converge would change)</h3><ul>%s</ul>" % items
    legend = ('<span class="dot" style="background:%s"></span>errors<span class="dot" style="background:%s"></span>warnings'
              '<span class="dot" style="background:#3b6fb6"></span>drifted objects' % (STATUS_COLOURS["error"], STATUS_COLOURS["warning"]))
    return ('<h2>Trend of the last %d runs</h2><div class="wrap"><div>%s<div>%s</div></div><div><table><tr><th>Run</th><th>Verdict</th>'
            '<th>Errors</th><th>Warnings</th><th>Drifted</th></tr>%s</table></div></div>%s') % (len(points), svg_trend(points), legend, rows, drifted)


def to_html(findings, summary, snapshots, title="Multicluster mesh check", trend=None, drift=None):
    """A self-contained HTML page: verdict, topology picture with the peering matrix beside it, per check x cluster table,
    findings with hints; with ``trend``
    (points of _watch_history.trend_point, oldest first) the trend of the last runs and this run's drifted objects."""
    clusters = list(summary.get("clusters") or snapshots)
    nodes, edges = topology(snapshots, findings, clusters)
    has_mesh = any(f["cluster"] is None for f in findings)
    cols = clusters + ([MESH] if has_mesh else [])
    checks = summary.get("checks") or []

    def cell(check, column):
        level = check["clusters"].get(column)
        return '<td class="%s">%s</td>' % (level or "na", _badge(level) if level else "–")
    if len(cols) <= 12:
        heads = "<tr><th>Check</th>%s</tr>" % "".join("<th>%s</th>" % escape(c) for c in cols)
        rows = ["<tr><th>%s</th>%s</tr>" % (escape(check["title"]), "".join(cell(check, c) for c in cols)) for check in checks]
    else:
        # many clusters: a row per cluster, a column per check (its id; the title on hover), so the table grows down
        heads = "<tr><th>Cluster</th>%s</tr>" % "".join('<th class="vertical" title="%s"><span>%s</span></th>' % (
            escape(check["title"]), escape(check["id"])) for check in checks)
        rows = ["<tr><th>%s</th>%s</tr>" % (escape(c), "".join(cell(check, c) for check in checks)) for c in cols]
    items = []
    for cluster, groups in _sections(findings, clusters):
        items.append("<h3>%s</h3>" % escape("Cluster: %s" % cluster if cluster is not None else "Multicluster"))
        for cid, own in groups:
            level = worst(f["level"] for f in own)
            items.append('<details%s><summary class="%s">%s %s</summary><ul>' % (
                " open" if level == "error" else "", level, _badge(level), escape(TITLES.get(cid, cid))))
            for f in own:
                hint = '<div class="hint">%s</div>' % escape(f["hint"]) if f.get("hint") and f["level"] in ("error", "warning") else ""
                det = "<pre>%s</pre>" % escape("\n".join(f["details"])) if f.get("details") else ""
                items.append('<li class="%s">%s %s%s%s</li>' % (f["level"], _badge(f["level"]), escape(f["message"]), det, hint))
            items.append("</ul></details>")
    legend = " ".join('<span class="dot" style="background:%s"></span>%s' % (STATUS_COLOURS[s], s) for s in ("ok", "warning", "error", "missing"))
    counts = summary.get("counts") or {}
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:1600px}
h1{font-size:22px} .verdict{font-size:18px;padding:8px 12px;border-radius:6px;display:inline-block}
.passed{background:#e3f4e6} .issues{background:#fbe3e3}
.wrap{display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start}
table{border-collapse:collapse;font-size:13px} th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
td{text-align:center} td.error{background:#fbe3e3} td.warning{background:#fff4d6} td.ok,td.info{background:#e3f4e6}
summary{cursor:pointer;font-weight:bold;margin:4px 0} li{margin:3px 0} li.error{color:#a31f1d}
.hint{color:#555;font-size:12px;margin-left:20px} pre{font-size:12px;background:#f6f6f6;padding:6px}
.dot{display:inline-block;width:12px;height:12px;border-radius:6px;margin:0 4px 0 12px}
.badge{display:inline-block;min-width:16px;padding:0 4px;border-radius:8px;color:#fff;font-weight:bold;text-align:center;font-size:12px}
.badge.ok{background:#2e9e44} .badge.info{background:#5b7fa6} .badge.warning{background:#d99a00} .badge.error{background:#d3302f}
th.vertical{height:110px;vertical-align:bottom;padding:2px} th.vertical span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
.note{font-size:12px;color:#555;margin-bottom:6px}
</style></head><body>
<h1>%(title)s</h1>
<div class="verdict %(vclass)s">%(icon)s Multicluster check %(verdict)s &mdash; %(nerr)d errors, %(nwarn)d warnings, %(nclusters)d clusters</div>
<div class="wrap"><div><h2>Topology</h2>%(svg)s<div>%(legend)s</div></div>
<div><h2>Peerings</h2><div class="note">row: the cluster with the istio-remote-peer Gateway; column: its peer</div>%(matrix)s</div>
<div><h2>Checks</h2><table>%(heads)s%(rows)s</table></div></div>
%(trend)s<h2>Findings</h2>%(items)s
</body></html>
""" % {"title": escape(title), "vclass": "passed" if summary.get("passed") else "issues", "icon": _badge("ok" if summary.get("passed") else "error"),
       "verdict": escape(verdict(summary)), "nerr": counts.get("error", 0), "nwarn": counts.get("warning", 0), "nclusters": len(clusters),
       "svg": svg_topology(nodes, edges), "legend": legend, "matrix": svg_peer_matrix(nodes, edges), "heads": heads,
       "rows": "".join(rows), "items": "\n".join(items), "trend": trend_section(trend or [], drift)}
