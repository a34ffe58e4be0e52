"""Every role documents what its argument spec accepts: a README.md with one section per entry point
("## Entry point `<name>`"; a role with the single entry point main may document it in the whole README), naming every
option of that entry point. A new option without documentation fails here."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))


def _sections(readme):
    """{entry point: text of its section} of a role README."""
    parts = re.split(r"^## Entry point `([a-z_]+)`.*$", readme, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_role_has_an_argument_spec():
    assert {p.name for p in ROLES} == {p.name for p in ROOT.glob("roles/*") if p.is_dir()}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_readme_documents_every_option_of_every_entry_point(role):
    readme = role / "README.md"
    assert readme.is_file(), "roles/%s has no README.md" % role.name
    text = readme.read_text()
    sections = _sections(text)
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    if not sections and list(specs) == ["main"]:
        sections = {"main": text}
    missing = []
    for entry_point, spec in specs.items():
        if entry_point not in sections:
            missing.append("the section \"## Entry point `%s`\"" % entry_point)
            continue
        missing += ["%s: `%s`" % (entry_point, name) for name in (spec.get("options") or {})
                    if not re.search(r"`%s`" % re.escape(name), sections[entry_point])]
    assert not missing, "roles/%s/README.md does not document %s" % (role.name, ", ".join(missing))
