"""The guides (docs/, awx/README.md) name only variables that exist.

Every ``double-backquoted`` (reST) or `backquoted` (Markdown) name with a collection prefix must be defined in
a role argument spec or role defaults, the inventory model of CONTRIBUTING.md, the example inventories, or
the AWX configuration data. A renamed role option therefore breaks this test until the guides follow.
"""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
PREFIXES = ("mesh_", "pki_", "spire_", "spiffe_ids_", "gloo_operator_", "eastwest_", "validate_", "preflight_", "awx_meshops_")
EXTRA = {"target_clusters", "kube_context", "kubeconfig_path"}


def _not_variables():
    """Names that look like variables but are roles, plugins or check ids."""
    names = {p.name for p in ROOT.glob("roles/*") if p.is_dir()}
    names |= {p.stem for p in ROOT.glob("plugins/*/*.py")}
    registry = ROOT / "plugins" / "module_utils" / "_checks" / "registry.py"
    if registry.exists():
        names |= set(re.findall(r'^\s+\("([a-z_]+)", "', registry.read_text(), re.M))
    return names


def _yaml_keys(path):
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    Loader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))
    data = yaml.load(path.read_text(), Loader=Loader) or {}  # noqa: S506 - SafeLoader subclass
    return set(data) if isinstance(data, dict) else set()


def _known():
    names = set(EXTRA)
    for spec in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry in ((yaml.safe_load(spec.read_text()) or {}).get("argument_specs") or {}).values():
            names |= set(entry.get("options") or {})
    for path in ROOT.glob("roles/*/defaults/main.yml"):
        names |= _yaml_keys(path)
    for path in ROOT.glob("inventories/*/group_vars/*/*.yml"):
        names |= _yaml_keys(path)
    for path in ROOT.glob("inventories/*/host_vars/*.yml"):
        names |= _yaml_keys(path)
    names |= _yaml_keys(ROOT / "awx" / "vars" / "main.yml")
    names |= set(re.findall(r"\b(awx_meshops_[a-z0-9_]+)", (ROOT / "awx" / "configure.yml").read_text()))
    for line in (ROOT / "CONTRIBUTING.md").read_text().splitlines():
        m = re.match(r"^\|\s*`([a-z_][a-z0-9_]*)`\s*\|", line)
        if m:
            names.add(m.group(1))
    return names


def _mentioned(path):
    text = path.read_text()
    pattern = r"``([a-z_][a-z0-9_]*)``" if path.suffix == ".rst" else r"(?<!`)`([a-z_][a-z0-9_]*)`(?!`)"
    for m in re.finditer(pattern, text):
        yield m.group(1)
    # name=value on command lines and "name:" keys inside code blocks
    for m in re.finditer(r"(?:-e |\{\")([a-z_][a-z0-9_]*)[=\"]", text):
        yield m.group(1)


def test_guides_name_only_existing_variables():
    known = _known()
    not_variables = _not_variables()
    guides = sorted(ROOT.glob("docs/**/*.rst")) + sorted(ROOT.glob("docs/**/*.md")) + [ROOT / "awx" / "README.md"]
    assert len(guides) >= 8
    unknown = []
    for guide in guides:
        for name in _mentioned(guide):
            if (name.startswith(PREFIXES) or name in EXTRA) and name not in known and name not in not_variables:
                unknown.append("%s: %s" % (guide.relative_to(ROOT), name))
    assert not unknown, "guides name variables that nothing defines:\n" + "\n".join(sorted(set(unknown)))


def test_every_guide_is_in_the_docsite_index():
    index = yaml.safe_load((ROOT / "docs" / "docsite" / "extra-docs.yml").read_text())
    listed = {name for section in index["sections"] for name in section["toctree"]}
    present = {p.stem for p in (ROOT / "docs" / "docsite" / "rst").glob("*.rst")}
    assert listed == present
    for name in present:
        first = (ROOT / "docs" / "docsite" / "rst" / ("%s.rst" % name)).read_text().splitlines()[0]
        assert first == ".. _ansible_collections.meshops.ambient_spire.docsite.%s:" % name
