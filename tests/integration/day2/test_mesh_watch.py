"""playbooks/mesh_watch.yml on the converged mesh: clean; a network label changed on c2 makes the watch report the new
finding and the drifted object and fail (its exit status is the alarm); once the fault is cleared it reports both resolved.
The watch writes nothing to any cluster, appends one record per run to the history and to the job's stats, and the HTML
report shows the trend of the runs."""

import json
import os

NETWORK_FIELD = 'metadata.labels["topology.istio.io/network"]'


def _records(mesh):
    with open(os.path.join(mesh.history, "mesh-watch-history.jsonl")) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _issue(record, check, cluster):
    return next((i for i in record["issues"] if i["check"] == check and i["cluster"] == cluster), None)


def _watch(mesh, **env):
    before = mesh.writes()
    proc, elapsed, recap = mesh.run("mesh_watch.yml", env=env or None)
    print("\nfigures: mesh watch run: %.0f s, rc %d" % (elapsed, proc.returncode))
    assert mesh.writes() == before, "the watch wrote to a cluster"
    return proc, recap


def test_clean_then_a_changed_network_label_then_resolved(day2_mesh):
    mesh = day2_mesh
    # 1. clean
    proc, recap = _watch(mesh, ANSIBLE_SHOW_CUSTOM_STATS="1")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert all(recap[c]["changed"] == 0 and recap[c]["failed"] == 0 for c in ("c1", "c2", "c3")), recap
    records = _records(mesh)
    assert len(records) == 1 and records[0]["clean"] and records[0]["drift"] == [] and records[0]["mesh"]["passed"]
    assert "now: clean (the mesh check passed, nothing drifted from the desired state)" in proc.stdout
    # the record is the job's artifact too (set_stats)
    stats = proc.stdout[proc.stdout.index("CUSTOM STATS"):]
    assert '"mesh_watch"' in stats and '"clean": true' in stats

    # 2. the network label of c2's istiod namespace changed: a new finding, a drifted object, a failed run
    mesh.fault("c2", break_network_label=True)
    proc, recap = _watch(mesh)
    assert proc.returncode != 0, proc.stdout[-5000:]
    print("figures: the watch on drift:\n" + proc.stdout[max(0, proc.stdout.find('"since ')):][:1500])
    assert "mesh watch: 1 drifted object on c2; the mesh check found issues (network)" in proc.stdout
    record = _records(mesh)[-1]
    assert not record["clean"] and not record["mesh"]["passed"]
    assert record["drift"] == [{"cluster": "c2", "kind": "Namespace", "namespace": "", "name": "istio-system", "action": "update",
                                "fields": [NETWORK_FIELD]}]
    network = _issue(record, "network", "c2")
    assert network["level"] == "error" and any("network label broken-c2 on namespace istio-system differs" in m for m in network["messages"])
    assert "    c2 Namespace istio-system (update): %s" % NETWORK_FIELD.replace('"', '\\"') in proc.stdout
    assert "error network on c2: network label broken-c2" in proc.stdout

    # 3. cleared: the finding and the drift are reported resolved
    mesh.clear("c2")
    proc, recap = _watch(mesh)
    assert proc.returncode == 0, proc.stdout[-5000:]
    records = _records(mesh)
    assert len(records) == 3 and records[-1]["clean"]
    tail = proc.stdout[proc.stdout.index('"since '):]
    resolved = tail[tail.index("resolved findings:"):tail.index("newly drifted:")]
    assert "error network on c2:" in resolved
    assert "no longer drifted: 1" in tail and "c2 Namespace istio-system (update)" in tail[tail.index("no longer drifted"):]
    assert "new findings: none" in tail and "newly drifted: none" in tail

    # the HTML report shows the trend of the three runs (the middle one not clean) and no drifted objects now
    with open(os.path.join(mesh.reports, "mesh-check.html")) as handle:
        html = handle.read()
    assert "Trend of the last 3 runs" in html and html.count('r="4" fill') == 3
    assert html.count('<td class="ok">clean</td>') == 2 and html.count('<td class="error">drift</td>') == 1
    assert "Drifted objects" not in html
