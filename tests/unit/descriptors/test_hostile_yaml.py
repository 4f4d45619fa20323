"""Issue 11: hostile YAML is refused quickly, in one line, never with a traceback.

Covers the bounded loader (``spfed.bounded_yaml``), descriptor files and
``spfed validate``, the node configuration and topology files.
"""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from spfed.bounded_yaml import YamlRefused, load_yaml, load_yaml_all, read_limited
from spfed.cli import cli
from spfed.config import ConfigError, load_config
from spfed.descriptors import validate_files
from spfed.model.limits import DescriptorLimits
from spfed.topology._yaml import read_yaml
from tests.unit.descriptors import builders, hostile

LIMITS = DescriptorLimits()


def _refusal(text: str, **kwargs: bool) -> str:
    with pytest.raises(YamlRefused) as info:
        load_yaml(text, LIMITS, **kwargs)
    return str(info.value)


# The loader


def test_billion_laughs_is_refused_at_once() -> None:
    start = time.perf_counter()
    message = _refusal(hostile.billion_laughs())
    assert time.perf_counter() - start < 1.0
    assert message == (
        "refused: aliases expand the text past 1048576 nodes at line 7 (limits.max_request_bytes)"
    )


@pytest.mark.parametrize("text", [hostile.deep_flow(50_000), hostile.deep_flow(65)])
def test_deep_flow_nesting_is_refused(text: str) -> None:
    assert _refusal(text) == (
        "refused: collections nested deeper than 64 levels at line 1 (limits.max_yaml_depth)"
    )


def test_deep_block_nesting_is_refused_where_it_goes_too_deep() -> None:
    assert _refusal(hostile.deep_block(1_000)) == (
        "refused: collections nested deeper than 64 levels at line 65 (limits.max_yaml_depth)"
    )


def test_nesting_up_to_the_limit_loads() -> None:
    expected: list[object] = []
    for _ in range(63):
        expected = [expected]
    assert load_yaml(hostile.deep_flow(64), LIMITS) == expected
    assert load_yaml(hostile.deep_block(63), LIMITS) is not None


def test_aliases_up_to_the_limit_load_and_one_more_is_refused() -> None:
    ok = "a: &a x\nb: [" + ", ".join(["*a"] * 100) + "]\n"
    assert load_yaml(ok, LIMITS)["b"] == ["x"] * 100
    assert _refusal(ok.replace("]", ", *a]")) == (
        "refused: more than 100 aliases at line 2 (limits.max_yaml_aliases)"
    )


def test_aliases_count_over_the_whole_stream() -> None:
    document = "a: &a x\nb: [" + ", ".join(["*a"] * 60) + "]\n"
    with pytest.raises(YamlRefused, match="more than 100 aliases"):
        list(load_yaml_all(f"{document}---\n{document}", LIMITS))


def test_an_alias_inside_what_it_names_is_refused() -> None:
    assert "alias *a inside the collection it names" in _refusal("a: &a [1, *a]\n")


def test_too_large_a_text_is_refused() -> None:
    small = DescriptorLimits(max_request_bytes=1024)
    with pytest.raises(YamlRefused, match=r"larger than 1024 bytes \(limits.max_request_bytes\)"):
        load_yaml("a: " + "é" * 600, small)  # 600 characters, 1200 bytes


def test_a_file_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_bytes(b"a" * 2048)
    with pytest.raises(YamlRefused, match="larger than 1024 bytes"):
        read_limited(path, DescriptorLimits(max_request_bytes=1024))
    assert read_limited(path, DescriptorLimits(max_request_bytes=2048)) == "a" * 2048


def test_plain_yaml_loads_as_pyyaml_safe_load_does() -> None:
    text = (
        "a: [1, 2.5, true, null, 2018-01-01, '3', {b: c}]\n"
        "d: &x {e: 1}\nf: *x\ng:\n  <<: *x\n  h: 2\ni: !!str 7\n"
    )
    assert load_yaml(text, LIMITS) == yaml.safe_load(text)
    assert list(load_yaml_all("a: 1\n---\n---\nb: [1]\n", LIMITS)) == [{"a": 1}, None, {"b": [1]}]


def test_repeated_keys_are_refused_only_when_asked() -> None:
    assert load_yaml("a: 1\na: 2\n", LIMITS) == {"a": 2}
    with pytest.raises(yaml.YAMLError, match="key 'a' appears twice"):
        load_yaml("a: 1\na: 2\n", LIMITS, unique_keys=True)


def test_yaml_errors_stay_yaml_errors() -> None:
    with pytest.raises(yaml.YAMLError, match="found undefined alias 'x'"):
        load_yaml("a: *x\n", LIMITS)
    with pytest.raises(yaml.YAMLError, match="expected a single document"):
        load_yaml("a: 1\n---\nb: 2\n", LIMITS)


# Descriptor files and spfed validate


def _only_problem(*paths: Path) -> str:
    report = validate_files(paths)
    assert not report.ok
    assert len(report.problems) == 1, report.problems
    return report.describe(report.problems[0])


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_refuses_a_bomb_in_one_line(tmp_path: Path) -> None:
    bomb = _write(tmp_path, "bomb.yml", hostile.billion_laughs())
    start = time.perf_counter()
    line = _only_problem(bomb)
    assert time.perf_counter() - start < 1.0
    assert line == f"{bomb}: refused: aliases expand the text past 1048576 nodes at line 7" + (
        " (limits.max_request_bytes)"
    )


def test_validate_refuses_deep_nesting_in_one_line(tmp_path: Path) -> None:
    deep = _write(tmp_path, "deep.yml", hostile.deep_flow(50_000))
    assert _only_problem(deep) == (
        f"{deep}: refused: collections nested deeper than 64 levels at line 1"
        " (limits.max_yaml_depth)"
    )


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_validate_refuses_10000_functions_by_size(tmp_path: Path) -> None:
    big = _write(tmp_path, "nsd.yml", hostile.nsd(10_000))
    before, start = _peak_rss_mib(), time.perf_counter()
    line = _only_problem(big)
    assert time.perf_counter() - start < 1.0
    assert _peak_rss_mib() - before < 50
    assert line == f"{big}: refused: larger than 1048576 bytes (limits.max_request_bytes)"


def test_validate_refuses_900000_connection_points_by_size(tmp_path: Path) -> None:
    big = hostile.write_vnfd(tmp_path / "vnfd.yml", 450_000)
    assert big.stat().st_size > 30 << 20
    before, start = _peak_rss_mib(), time.perf_counter()
    line = _only_problem(big)
    assert time.perf_counter() - start < 1.0
    assert _peak_rss_mib() - before < 50
    assert line == f"{big}: refused: larger than 1048576 bytes (limits.max_request_bytes)"


def test_counts_over_the_limits_are_refused_before_the_checks(tmp_path: Path) -> None:
    nsd = _write(tmp_path, "nsd.yml", hostile.nsd(300))
    assert nsd.stat().st_size < 1 << 20
    vnfd = builders.write(tmp_path, "vnfd.yml", builders.vnfd())
    report = validate_files([nsd, vnfd])
    assert [report.describe(p) for p in report.problems] == [
        f"{nsd}: network_functions: 300 functions and nested services; limits.max_functions is 256"
    ]


def test_limits_can_be_lowered(tmp_path: Path) -> None:
    vnfd = builders.write(tmp_path, "vnfd.yml", builders.vnfd())
    report = validate_files([vnfd], limits=DescriptorLimits(max_connection_points=5))
    assert [p.description for p in report.problems] == [
        "12 connection points (own, units' and link references); limits.max_connection_points is 5"
    ]


def test_maximal_files_validate_quickly(tmp_path: Path) -> None:
    nsd = _write(tmp_path, "nsd.yml", hostile.nsd(256))
    vnfd = builders.write(tmp_path, "fw.yml", builders.vnfd())
    points = _write(tmp_path, "points.yml", hostile.vnfd(1023).replace('name: "fw"', 'name: "p"'))
    start = time.perf_counter()
    report = validate_files([nsd, vnfd, points])
    assert time.perf_counter() - start < 3.0  # about 0.3 s on a laptop; generous for CI
    assert report.ok, report.problems[:3]


def test_unknown_references_in_a_maximal_nsd_stay_fast(tmp_path: Path) -> None:
    # Every reference names no function: guessing each among all ids was quadratic.
    text = re.sub(r'"f(\d+):', r'"g\1:', hostile.nsd(256))
    nsd = _write(tmp_path, "nsd.yml", text)
    start = time.perf_counter()
    report = validate_files([nsd], resolve=False)
    assert time.perf_counter() - start < 3.0
    assert len(report.problems) == 512
    assert report.problems[0].description == "unknown function 'g0'"


def test_cli_prints_one_line_per_refused_file_and_no_traceback(tmp_path: Path) -> None:
    bomb = _write(tmp_path, "bomb.yml", hostile.billion_laughs())
    deep = _write(tmp_path, "deep.yml", hostile.deep_flow(50_000))
    result = CliRunner().invoke(cli, ["validate", str(bomb), str(deep)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout.splitlines() == [
        f"{bomb}: refused: aliases expand the text past 1048576 nodes at line 7"
        " (limits.max_request_bytes)",
        f"{deep}: refused: collections nested deeper than 64 levels at line 1"
        " (limits.max_yaml_depth)",
    ]
    assert "Traceback" not in result.output


# Node configuration and topology files


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        (hostile.billion_laughs(), "aliases expand the text past 1048576 nodes at line 7"),
        (hostile.deep_flow(50_000), "collections nested deeper than 64 levels at line 1"),
        ("id: " + "x" * (1 << 20), "larger than 1048576 bytes"),
    ],
)
def test_config_and_topology_files_are_refused(tmp_path: Path, text: str, refusal: str) -> None:
    path = _write(tmp_path, "node.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value).startswith(f"{path}: refused: {refusal}")
    assert len(str(info.value).splitlines()) == 1
    with pytest.raises(ValueError, match=f"^refused: {refusal}"):
        read_yaml(path)


def test_a_hostile_override_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "node.yaml", "id: r\n")
    with pytest.raises(ConfigError, match="SPFED__ID: refused: collections nested deeper"):
        load_config(path, environ={"SPFED__ID": hostile.deep_flow(100)})


def test_a_long_nesting_chain_is_too_deep_not_a_recursion_error(tmp_path: Path) -> None:
    # Each NSD nests the next and the last the first: following it recursively
    # overflowed the stack (RecursionError) before it was bounded.
    count = 2000
    documents = [
        {
            "descriptor_schema": builders.TANGO_NSD,
            "vendor": "v",
            "name": f"s{i}",
            "version": "1.0",
            "network_services": [
                {
                    "ns_id": "n",
                    "ns_vendor": "v",
                    "ns_name": f"s{(i + 1) % count}",
                    "ns_version": "1.0",
                }
            ],
            "connection_points": [{"id": "a"}],
        }
        for i in range(count)
    ]
    path = builders.write(tmp_path, "chain.yml", *documents)
    start = time.perf_counter()
    report = validate_files([path])
    assert time.perf_counter() - start < 5.0
    assert len(report.problems) == count
    assert report.problems[0].description == (
        "nests services more than 8 levels deep; limits.max_nesting_depth is 8"
    )
