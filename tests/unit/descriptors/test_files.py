"""Files validated together: YAML problems, cross-file resolution, the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from spfed.descriptors import (
    DescriptorError,
    Problem,
    load_files,
    prefix_violations,
    validate_files,
)
from spfed.errors import FieldViolation
from tests.unit.descriptors import builders


@pytest.fixture
def chain(tmp_path: Path) -> list[Path]:
    return [
        builders.write(tmp_path, "nsd.yml", builders.nsd()),
        builders.write(tmp_path, "vnfd.yml", builders.vnfd()),
        builders.write(tmp_path, "inner.yml", builders.inner_nsd()),
    ]


def test_a_consistent_set(chain: list[Path]) -> None:
    report = validate_files(chain)
    assert report.ok
    assert [d.ok for d in report.documents] == [True, True, True]
    assert len(load_files(chain)) == 3


def test_several_documents_in_one_file(tmp_path: Path) -> None:
    bundle = builders.write(
        tmp_path, "bundle.yml", builders.nsd(), builders.vnfd(), builders.inner_nsd()
    )
    report = validate_files([bundle])
    assert report.ok
    assert [d.document for d in report.documents] == [0, 1, 2]


def test_member_missing_from_the_files(chain: list[Path]) -> None:
    report = validate_files(chain[:2])
    assert report.problems == (
        Problem(
            str(chain[0]),
            0,
            "network_services[0]",
            "no NSD eu.test/inner/>= 0.5 is known (no NSD at all);"
            " pass the file that defines it too",
        ),
    )
    with pytest.raises(DescriptorError) as caught:
        load_files(chain[:2])
    assert caught.value.field_violations == (
        FieldViolation(f"{chain[0]}[0].network_services[0]", report.problems[0].description),
    )


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("vendor: eu.test\nname: [unclosed\nversion: '1.0'\n", encoding="utf-8")
    (problem,) = validate_files([path]).problems
    assert (problem.file, problem.document, problem.field) == (str(path), 0, "")
    assert problem.description.startswith("YAML syntax error at line 3, column ")


def test_syntax_error_in_a_later_document_keeps_the_earlier_ones(tmp_path: Path) -> None:
    path = builders.write(tmp_path, "two.yml", builders.vnfd())
    path.write_text(path.read_text(encoding="utf-8") + "---\nvendor: [\n", encoding="utf-8")
    report = validate_files([path])
    assert [d.ok for d in report.documents] == [True]
    (problem,) = report.problems
    assert problem.document == 1
    assert report.describe(problem).startswith(f"{path} (document 2): YAML syntax error at line")


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_text("# nothing here\n", encoding="utf-8")
    missing = tmp_path / "missing.yml"
    report = validate_files([empty, missing])
    assert [p.description for p in report.problems] == [
        "the file holds no YAML document",
        "cannot read the file: No such file or directory",
    ]


def test_document_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    (problem,) = validate_files([path]).problems
    assert problem.description == "a descriptor is a mapping of fields, not a list"


def test_different_descriptors_with_one_identity(tmp_path: Path) -> None:
    other = builders.vnfd()
    other["author"] = "someone else"
    first = builders.write(tmp_path, "a.yml", builders.vnfd())
    second = builders.write(tmp_path, "b.yml", other)
    (problem,) = validate_files([first, second]).problems
    assert problem == Problem(
        str(second),
        0,
        "",
        f"VNFD eu.test/fw/1.0 is also defined, differently, in {first}; pass only one of them",
    )
    assert validate_files([first, first]).ok  # the same file twice is harmless


def test_nesting_loop(tmp_path: Path) -> None:
    inner = builders.inner_nsd()
    inner["network_services"] = [
        {"ns_id": "ns_back", "ns_vendor": "eu.test", "ns_name": "chain", "ns_version": "1.0"}
    ]
    inner["virtual_links"] = [
        {
            "id": "x",
            "connectivity_type": "E-LAN",
            "connection_points_reference": ["ns_back:mgmt", "mgmt"],
        }
    ]
    paths = [
        builders.write(tmp_path, "nsd.yml", builders.nsd()),
        builders.write(tmp_path, "vnfd.yml", builders.vnfd()),
        builders.write(tmp_path, "inner.yml", inner),
    ]
    report = validate_files(paths)
    assert [(p.file, p.field, p.description) for p in report.problems] == [
        (
            str(paths[0]),
            "network_services[0]",
            "nesting loops back to this service:"
            " eu.test/chain/1.0 -> eu.test/inner/0.7 -> eu.test/chain/1.0",
        ),
        (
            str(paths[2]),
            "network_services[0]",
            "nesting loops back to this service:"
            " eu.test/inner/0.7 -> eu.test/chain/1.0 -> eu.test/inner/0.7",
        ),
    ]


def test_problems_in_file_then_document_order(tmp_path: Path) -> None:
    bad_vnfd = builders.vnfd()
    bad_vnfd["vendor"] = "EU"
    bad_nsd = builders.nsd()
    bad_nsd["virtual_links"][1]["connection_points_reference"] = ["input", "vnf_fw:input"]
    paths = [
        builders.write(tmp_path, "z.yml", bad_vnfd),
        builders.write(tmp_path, "a.yml", builders.inner_nsd(), bad_nsd),
    ]
    report = validate_files(paths)
    assert [(p.file, p.document, p.field) for p in report.problems] == [
        (str(paths[0]), 0, "vendor"),
        (str(paths[1]), 1, "virtual_links[1].connection_points_reference[1]"),
    ]
    assert (
        report.describe(report.problems[0]) == f"{paths[0]}: vendor: 'EU' is not valid:"
        " use lower-case letters, digits, '-', '_' and '.'"
    )
    assert report.describe(report.problems[1]).startswith(
        f"{paths[1]} (document 2): virtual_links[1]"
    )
    assert report.as_dict()["problems"][1] == {
        "file": str(paths[1]),
        "document": 1,
        "field": "virtual_links[1].connection_points_reference[1]",
        "description": "unknown function or nested service 'vnf_fw' (did you mean 'vnf_firewall'?)",
    }


def test_prefix_violations() -> None:
    got = prefix_violations(
        [
            FieldViolation("virtual_links[0]", "a"),
            FieldViolation("", "b"),
            FieldViolation("[2].id", "c"),
        ],
        "descriptors.nsd.",
    )
    assert got == [
        FieldViolation("descriptors.nsd.virtual_links[0]", "a"),
        FieldViolation("descriptors.nsd", "b"),
        FieldViolation("descriptors.nsd[2].id", "c"),
    ]
    assert prefix_violations([FieldViolation("vendor", "x")], "descriptors.vnfds[1]") == [
        FieldViolation("descriptors.vnfds[1].vendor", "x")
    ]


def test_a_directory_stands_for_its_yaml_files(tmp_path: Path, chain: list[Path]) -> None:
    (tmp_path / "notes.txt").write_text("not a descriptor", encoding="utf-8")
    report = validate_files([tmp_path])
    assert report.ok
    assert [d.file for d in report.documents] == [
        str(tmp_path / n) for n in ("inner.yml", "nsd.yml", "vnfd.yml")
    ]
    assert len(load_files([tmp_path])) == 3


def test_an_empty_directory_is_a_problem(tmp_path: Path) -> None:
    (problem,) = validate_files([tmp_path]).problems
    assert problem == Problem(str(tmp_path), 0, "", "no .yml or .yaml file in the directory")
