"""Pins the public names of ``spfed.descriptors``: changing them is an API change."""

from __future__ import annotations

import spfed.descriptors


def test_public_names() -> None:
    assert sorted(spfed.descriptors.__all__) == [
        "DescriptorError",
        "DescriptorSet",
        "DocumentResult",
        "InterfaceResolver",
        "ParsedDescriptor",
        "Problem",
        "ValidationReport",
        "best_match",
        "check_nsd",
        "check_nst",
        "check_vnfd",
        "limit_violations",
        "load_files",
        "parse_document",
        "prefix_violations",
        "refers_to",
        "summary",
        "validate_files",
        "version_key",
        "version_matches",
    ]
    for name in spfed.descriptors.__all__:
        assert getattr(spfed.descriptors, name) is not None


def test_slice_model_is_exported() -> None:
    import spfed.model

    for name in ("SliceTemplate", "SliceSubnet", "SliceLink", "SliceLinkPoint", "SliceAccessPoint"):
        assert name in spfed.model.__all__
        assert getattr(spfed.model, name).__module__ == "spfed.model.slices"
