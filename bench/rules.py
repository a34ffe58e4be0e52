#!/usr/bin/env python
"""Benchmark of the Jinja that moved into plugin code: the mesh_identity filter and the pki_plan lookup against the Jinja
they replaced, templated by ansible-core's Templar over real (lazy) hostvars.

Usage: .venv/bin/python bench/rules.py [--hosts 3,50,500] [--repeat 20]
For each host count N it builds an inventory of N clusters (each with 40 more variables, a quarter of them templates),
and prints the milliseconds per evaluation of:
- the cluster names of the group: `hostvars | mesh_identity(hosts)` and the old loop over `hostvars[h].mesh_cluster_name`;
- the PKI plan for those N clusters on an empty tree: the pki_plan lookup and the old 69-line template.
No cluster, no playbook run.
"""

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEGACY = os.path.join(ROOT, "tests", "unit", "plugins", "legacy")

OLD_NAMES = ("{%- set ns = namespace(names=[]) -%}{%- for h in groups['k8s_clusters'] -%}"
             "{%- set ns.names = ns.names + [hostvars[h].mesh_cluster_name | default(h)] -%}{%- endfor -%}{{ ns.names }}")
NEW_NAMES = "{{ hostvars | meshops.ambient_spire.mesh_identity(groups['k8s_clusters']) | map(attribute='cluster') | list }}"


def inventory(path, count):
    lines = ["all:", "  children:", "    k8s_clusters:", "      hosts:"]
    for index in range(count):
        lines.append("        cluster%d:" % index)
        if index % 2:
            lines.append("          mesh_cluster_name: c%d" % index)
        for var in range(40):
            value = "\"{{ 'v' ~ %d }}\"" % var if var % 4 == 0 else "value-%d" % var
            lines.append("          extra_%d: %s" % (var, value))
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def per_call_ms(func, repeat, *args):
    result = func(*args)
    start = time.perf_counter()
    for dummy in range(repeat):
        result = func(*args)
    return (time.perf_counter() - start) * 1000.0 / repeat, result


def legacy_plan(loader, templar, template):
    """The plan as the pki role made it before: the rendered template, then from_json."""
    from ansible.template import Templar, trust_as_template

    rendered = templar.template(template)
    return Templar(loader=loader, variables={"plan_json": rendered}).template(trust_as_template("{{ plan_json | from_json }}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="3,50,500")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar, trust_as_template
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    init_plugin_loader([os.path.join(ROOT, ".build", "collections")])
    with open(os.path.join(LEGACY, "pki_plan.json.j2")) as handle:
        old_plan = trust_as_template(handle.read())
    new_plan = trust_as_template("{{ lookup('meshops.ambient_spire.pki_plan', pki_dir=pki_dir, clusters=names, cluster_group='k8s_clusters') }}")
    pki_defaults = DataLoader().load_from_file(os.path.join(ROOT, "roles", "pki", "defaults", "main.yml"), trusted_as_template=True)

    print("%6s  %16s  %16s  %16s  %16s" % ("hosts", "names new ms", "names old ms", "pki plan new ms", "pki plan old ms"))
    with tempfile.TemporaryDirectory() as tmp:
        for count in [int(value) for value in args.hosts.split(",")]:
            path = os.path.join(tmp, "hosts-%d.yml" % count)
            inventory(path, count)
            loader = DataLoader()
            inv = InventoryManager(loader=loader, sources=[path])
            manager = VariableManager(loader=loader, inventory=inv)
            HostVars(inventory=inv, variable_manager=manager, loader=loader)
            variables = manager.get_vars(host=inv.get_host("cluster0"), include_hostvars=True)
            templar = Templar(loader=loader, variables=variables)
            new_ms, new_names = per_call_ms(templar.template, args.repeat, trust_as_template(NEW_NAMES))
            old_ms, old_names = per_call_ms(templar.template, args.repeat, trust_as_template(OLD_NAMES))
            assert list(new_names) == list(old_names), (new_names[:3], old_names[:3])
            plan_vars = dict(pki_defaults, pki_dir=os.path.join(tmp, "pki"), names=list(new_names), pki_clusters=list(new_names),
                             groups={"k8s_clusters": []}, hostvars={})
            plan_templar = Templar(loader=loader, variables=plan_vars)
            new_plan_ms, plan = per_call_ms(plan_templar.template, args.repeat, new_plan)
            # as the role did: the template lookup, then from_json
            old_plan_ms, legacy = per_call_ms(legacy_plan, max(1, args.repeat // 4), loader, plan_templar, old_plan)
            assert plan == legacy
            print("%6d  %16.2f  %16.2f  %16.2f  %16.2f" % (count, new_ms, old_ms, new_plan_ms, old_plan_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
