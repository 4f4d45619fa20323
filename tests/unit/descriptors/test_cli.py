"""``spfed validate`` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from spfed.cli import cli
from tests.unit.descriptors import builders
from tests.unit.descriptors.builders import EXAMPLES


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_valid_set_prints_one_line_per_descriptor() -> None:
    code, out, _ = run(
        str(EXAMPLES / "nsd-edge-cdn.yml"),
        str(EXAMPLES / "vnfd-router.yml"),
        str(EXAMPLES / "vnfd-cache.yml"),
    )
    assert code == 0
    assert out.splitlines() == [
        f"ok  {EXAMPLES / 'nsd-edge-cdn.yml'}  NSD eu.spfed.demo/edge-cdn/1.0"
        " (5GTANGO; 2 functions, 0 nested services, 4 links)",
        f"ok  {EXAMPLES / 'vnfd-router.yml'}  VNFD eu.spfed.demo/router/1.0"
        " (5GTANGO; 1 unit, 3 links, 1 vCPU, 512 MiB, 2 GiB)",
        f"ok  {EXAMPLES / 'vnfd-cache.yml'}  VNFD eu.spfed.demo/cache/1.0"
        " (5GTANGO; 1 unit, 3 links, 2 vCPU, 4096 MiB, 50 GiB)",
    ]


def test_problem_lines_and_exit_code() -> None:
    nsd = EXAMPLES / "invalid" / "nsd-dangling-function.yml"
    code, out, err = run(str(EXAMPLES / "vnfd-firewall.yml"), str(nsd))
    assert code == 1
    assert out.splitlines() == [
        f"{nsd}: virtual_links[1].connection_points_reference[1]:"
        " unknown function 'vnf_fw' (did you mean 'vnf_firewall'?)"
    ]
    assert err.strip() == "1 problem in 1 of 2 documents"


def test_missing_member_tells_to_pass_its_file() -> None:
    code, out, _ = run(str(EXAMPLES / "nsd-edge-cdn.yml"), str(EXAMPLES / "vnfd-router.yml"))
    assert code == 1
    assert out.splitlines() == [
        f"{EXAMPLES / 'nsd-edge-cdn.yml'}: network_functions[1]: no VNFD eu.spfed.demo/cache/>= 1.0"
        " among eu.spfed.demo/router/1.0; pass the file that defines it too"
    ]


def test_directory_stands_for_its_yaml_files() -> None:
    code, out, _ = run(str(EXAMPLES))
    assert code == 0
    assert len(out.splitlines()) == 8  # the invalid/ folder below is not read


def test_json_report(tmp_path: Path) -> None:
    bad = builders.vnfd()
    bad["virtual_links"][1]["connection_points_reference"] = ["input", "vdu1:eth1"]
    path = builders.write(tmp_path, "vnfd.yml", bad)
    code, out, _ = run("--json", str(path))
    assert code == 1
    assert json.loads(out) == {
        "ok": False,
        "documents": [
            {
                "file": str(path),
                "document": 0,
                "ok": False,
                "kind": None,
                "ref": None,
                "summary": None,
            }
        ],
        "problems": [
            {
                "file": str(path),
                "document": 0,
                "field": "virtual_links[1].connection_points_reference[1]",
                "description": "unknown unit 'vdu1' (did you mean 'vdu01'?)",
            }
        ],
    }


def test_json_report_on_success() -> None:
    code, out, _ = run("--json", str(EXAMPLES / "vnfd-dpi.yml"))
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert report["documents"][0]["kind"] == "VNFD"
    assert report["documents"][0]["ref"] == "eu.spfed.demo/dpi/1.0"


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run(str(tmp_path / "nope.yml"))
    assert code == 2
    assert "does not exist" in err


def test_at_least_one_file() -> None:
    code, _, _ = run()
    assert code == 2
