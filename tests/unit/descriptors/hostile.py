"""Hostile and maximal YAML texts (issue 11): bombs, deep nests, huge descriptors."""

from __future__ import annotations

from pathlib import Path

from tests.unit.descriptors.builders import TANGO_NSD, TANGO_VNFD


def billion_laughs(levels: int = 9, fan_out: int = 9) -> str:
    """The classic alias bomb: a few hundred bytes that expand to ``fan_out ** levels`` strings."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * fan_out)}]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * fan_out)}]")
    return "\n".join(lines) + "\n"


def deep_flow(depth: int) -> str:
    """``depth`` nested flow sequences: ``[[[...]]]``."""
    return "[" * depth + "]" * depth + "\n"


def deep_block(depth: int) -> str:
    """``depth`` nested block mappings, one per line."""
    return "".join(f"{' ' * level}k:\n" for level in range(depth)) + " " * depth + "k: 1\n"


def nsd(functions: int) -> str:
    """A valid NSD chaining ``functions`` copies of ``vnfd()`` from ``input`` to ``output``."""
    out = [
        f'descriptor_schema: "{TANGO_NSD}"',
        'vendor: "eu.test"\nname: "chain"\nversion: "1.0"\nnetwork_functions:',
    ]
    out += [
        f'  - {{vnf_id: "f{i}", vnf_vendor: "eu.test", vnf_name: "fw", vnf_version: "1.0"}}'
        for i in range(functions)
    ]
    out.append("connection_points:")
    out += [f'  - {{id: "{cp}", type: "external"}}' for cp in ("input", "output")]
    out.append("virtual_links:")
    ends = ["input", *(f"f{i}:input f{i}:output" for i in range(functions)), "output"]
    hops = " ".join(ends).split()
    for i in range(0, len(hops), 2):
        out.append(
            f'  - {{id: "l{i // 2}", connectivity_type: "E-Line",'
            f' connection_points_reference: ["{hops[i]}", "{hops[i + 1]}"]}}'
        )
    return "\n".join(out) + "\n"


def vnfd_lines(points: int) -> list[str]:
    """A valid VNFD whose unit and own points are joined pairwise: ``2 * points`` points
    plus ``2 * points`` link references."""
    out = [
        f'descriptor_schema: "{TANGO_VNFD}"',
        'vendor: "eu.test"\nname: "fw"\nversion: "1.0"\nvirtual_deployment_units:',
        '  - id: "vdu01"\n    vm_image: "fw-image"',
        "    resource_requirements: {cpu: {vcpus: 1}, memory: {size: 1, size_unit: GiB}}",
        "    connection_points:",
    ]
    out += [f'      - {{id: "e{i}", type: "internal"}}' for i in range(points)]
    out.append("connection_points:")
    out += [f'  - {{id: "x{i}", type: "external"}}' for i in range(points)]
    out.append("virtual_links:")
    out += [
        f'  - {{id: "l{i}", connectivity_type: "E-Line",'
        f' connection_points_reference: ["vdu01:e{i}", "x{i}"]}}'
        for i in range(points)
    ]
    return out


def vnfd(points: int) -> str:
    """``vnfd_lines`` as one text."""
    return "\n".join(vnfd_lines(points)) + "\n"


def write_vnfd(path: Path, points: int) -> Path:
    """A VNFD with ``2 * points`` points and no links, written in chunks so that a
    huge one never sits in memory whole."""
    step = 10_000
    with path.open("w", encoding="utf-8") as out:
        out.write("\n".join(vnfd_lines(0)[:-2]) + "\n")
        for start in range(0, points, step):
            chunk = range(start, min(points, start + step))
            out.write("".join(f'      - {{id: "e{i}", type: "internal"}}\n' for i in chunk))
        out.write("connection_points:\n")
        for start in range(0, points, step):
            chunk = range(start, min(points, start + step))
            out.write("".join(f'  - {{id: "x{i}", type: "external"}}\n' for i in chunk))
    return path
