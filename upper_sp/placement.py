"""Placement: choose, for every member, one of the node's PoPs or a lower SP.

A function whose VNFD the node knows may go to any of its PoPs; any member
may go to a lower SP whose catalogue offers it (vendor/name/version) in the
requested region with enough free capacity. Own PoPs come first (no
delegation needed), then lower SPs with the most free capacity. Capacity is
counted cumulatively, so two members never book the same room.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

from spfed.descriptors import best_match
from spfed.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    QuotaViolation,
    ResourceExhausted,
)
from spfed.model import (
    LOCAL_OPERATOR,
    Catalogue,
    DelegatedPart,
    DescriptorRef,
    LocalPart,
    OfferKind,
    Part,
    PlacementConstraints,
    PlacementRule,
    Resources,
)
from upper_sp.graph import Member, MemberKind, ServiceGraph

__all__ = [
    "LowerView",
    "Placement",
    "PopView",
    "check_rules",
    "place",
    "placement_summary",
]


@dataclass(frozen=True)
class PopView:
    """One of the node's PoPs, as placement sees it."""

    name: str
    """PoP name."""
    region: str
    """Region."""
    free: Resources
    """Free capacity now."""


@dataclass(frozen=True)
class LowerView:
    """A lower SP, as placement sees it."""

    id: str
    """Operator id."""
    catalogue: Catalogue | None
    """Its latest catalogue (None until one arrives)."""


@dataclass(frozen=True)
class Placement:
    """Where every member goes: one of the node's PoPs or a lower SP."""

    parts: dict[str, Part]
    """Part by member id."""

    def members_of(self, part: Part) -> list[str]:
        """Members in one part, in placement order."""
        return [m for m, p in self.parts.items() if p == part]

    def used_parts(self) -> list[Part]:
        """Distinct parts, in first-use order (the order parts are recorded in)."""
        return list(dict.fromkeys(self.parts.values()))

    def local_parts(self) -> list[LocalPart]:
        """Distinct PoPs used, in first-use order."""
        return [p for p in self.used_parts() if isinstance(p, LocalPart)]

    def delegated_parts(self) -> list[DelegatedPart]:
        """Distinct lower SPs used, in first-use order."""
        return [p for p in self.used_parts() if isinstance(p, DelegatedPart)]


def _rule(member: Member, constraints: PlacementConstraints) -> PlacementRule:
    for key in member.rule_keys:
        if key in constraints.rules:
            return constraints.rule_for(key)
    return constraints.rule_for(member.id)


def check_rules(
    graph: ServiceGraph,
    constraints: PlacementConstraints,
    pops: Sequence[str],
    lowers: Sequence[str],
) -> None:
    """Reject rules naming unknown members, PoPs or lower SPs.

    Raises:
        InvalidArgument: with a violation at ``placement.rules[<member>]...``.
    """
    keys = {k for m in graph.members for k in m.rule_keys}
    problems = []
    for member, rule in sorted(constraints.rules.items()):
        path = f"placement.rules[{member}]"
        if member not in keys:
            problems.append(
                FieldViolation(
                    path,
                    f"no member '{member}' in the service (members: {', '.join(sorted(keys))})",
                )
            )
        known = [LOCAL_OPERATOR, *lowers]
        if rule.operator and rule.operator not in known:
            problems.append(
                FieldViolation(
                    f"{path}.operator",
                    f"unknown lower SP '{rule.operator}' (known: {', '.join(known)})",
                )
            )
        if rule.pop and rule.pop not in pops:
            problems.append(
                FieldViolation(
                    f"{path}.pop", f"unknown PoP '{rule.pop}' (known: {', '.join(pops) or 'none'})"
                )
            )
        if rule.pop and rule.operator not in ("", LOCAL_OPERATOR):
            problems.append(FieldViolation(f"{path}.pop", "a PoP pin needs operator '' or 'local'"))
    if problems:
        raise InvalidArgument(
            "placement constraints name unknown things", field_violations=problems
        )


@dataclass(frozen=True)
class _Candidate:
    part: Part
    region: str
    free: Resources

    @property
    def room(self) -> tuple[Part, str]:
        """What capacity is booked against: one PoP, or one region of one lower SP."""
        return self.part, self.region


def place(
    graph: ServiceGraph,
    constraints: PlacementConstraints,
    pops: Sequence[PopView],
    lowers: Sequence[LowerView],
    withdrawn: frozenset[tuple[OfferKind, DescriptorRef]] = frozenset(),
) -> Placement:
    """Place every member.

    A lower SP's room is counted per region (one instance must fit in one
    region), and what earlier members booked counts against it. Offers the
    node's operator ``withdrawn`` are no candidates, neither on the node's
    PoPs nor through a lower SP.

    Raises:
        FailedPrecondition: nothing here or below offers a member where asked.
        ResourceExhausted: candidates exist but none has room; one violation
            per candidate says what is missing.
    """
    booked: dict[tuple[Part, str], Resources] = {}
    parts: dict[str, Part] = {}
    for member in graph.members:
        rule = _rule(member, constraints)
        candidates = _candidates(member, rule, pops, lowers, withdrawn)
        if not candidates:
            where = f" in region '{rule.region}'" if rule.region else ""
            pin = f" with operator '{rule.operator}'" if rule.operator else ""
            raise FailedPrecondition(
                f"nothing offers {member.kind.value} {member.id} ({member.descriptor})"
                f"{where}{pin}: no matching PoP here and no lower SP's catalogue offers it"
            )
        shortfalls: list[QuotaViolation] = []
        for candidate in candidates:
            available = candidate.free - booked.get(candidate.room, Resources())
            if member.resources.fits_in(available):
                parts[member.id] = candidate.part
                booked[candidate.room] = booked.get(candidate.room, Resources()) + member.resources
                break
            shortfalls.append(
                QuotaViolation(
                    _room_subject(candidate), "; ".join(member.resources.shortfall(available))
                )
            )
        else:
            raise ResourceExhausted(
                f"no room for {member.id} ({member.descriptor}, {member.resources})",
                quota_violations=shortfalls,
            )
    return Placement(parts)


def _room_subject(candidate: _Candidate) -> str:
    """The quota violation's subject: ``pop:<name>``, or ``sp:<lower>/<region>`` since a
    lower SP's room is counted per region."""
    match candidate.part:
        case LocalPart():
            return str(candidate.part)
        case DelegatedPart():
            return f"{candidate.part}/{candidate.region}"
        case other:
            assert_never(other)


def _candidates(
    member: Member,
    rule: PlacementRule,
    pops: Sequence[PopView],
    lowers: Sequence[LowerView],
    withdrawn: frozenset[tuple[OfferKind, DescriptorRef]],
) -> list[_Candidate]:
    out: list[_Candidate] = []
    kind = (
        OfferKind.NETWORK_FUNCTION
        if member.kind is MemberKind.FUNCTION
        else OfferKind.NETWORK_SERVICE
    )
    if (
        member.kind is MemberKind.FUNCTION
        and member.vnfd is not None
        and rule.operator in ("", LOCAL_OPERATOR)
        and (kind, member.descriptor) not in withdrawn
    ):
        local = [
            p
            for p in pops
            if (not rule.pop or rule.pop == p.name) and (not rule.region or rule.region == p.region)
        ]
        out += [
            _Candidate(LocalPart(p.name), p.region, p.free)
            for p in sorted(local, key=lambda p: (-p.free.vcpus, p.name))
        ]
    if rule.operator == LOCAL_OPERATOR or rule.pop:
        return out
    remote: list[_Candidate] = []
    for lower in lowers:
        if (rule.operator and rule.operator != lower.id) or lower.catalogue is None:
            continue
        offers = (
            o
            for o in lower.catalogue.offers
            if o.kind is kind and (kind, o.descriptor) not in withdrawn
        )
        # The member's reference as written (it may name a version range), not
        # the version this node happened to resolve it to.
        offer = best_match(member.reference, offers, lambda o: o.descriptor)
        if offer is None:
            continue
        regions = [r for r in offer.regions if not rule.region or r == rule.region]
        remote += [
            _Candidate(DelegatedPart(lower.id), region, lower.catalogue.free_in(region))
            for region in regions
        ]
    out += sorted(remote, key=lambda c: (-c.free.vcpus, str(c.part), c.region))
    return out


def placement_summary(placement: Placement) -> str:
    """One line per part, for logs."""
    return ", ".join(
        f"{part}={','.join(placement.members_of(part))}" for part in placement.used_parts()
    )
