"""SONATA and 5GTANGO descriptors: parse both dialects, validate, map to ``spfed.model``.

``parse_document`` turns one NSD, VNFD or slice template (NST) document into
the domain model, validating it against spfed's own JSON Schemas and checking
everything the document alone shows. ``check_nsd`` resolves an NSD's functions
and nested services through an ``InterfaceResolver`` such as a
``DescriptorSet``. ``validate_files`` and ``load_files`` do all of it for YAML
files passed together, as ``spfed validate`` does. Every problem is a
``FieldViolation`` whose path names the field; ``prefix_violations`` re-roots
the paths at the API edge. ``limit_violations`` bounds a descriptor's size
(``spfed.model.DescriptorLimits``) before any of the above runs.
"""

from spfed.descriptors._checks import check_nst, check_vnfd
from spfed.descriptors._errors import DescriptorError, prefix_violations
from spfed.descriptors._files import load_files, validate_files
from spfed.descriptors._parse import parse_document
from spfed.descriptors._parsed import ParsedDescriptor
from spfed.descriptors._report import DocumentResult, Problem, ValidationReport, summary
from spfed.descriptors._resolver import DescriptorSet, InterfaceResolver, best_match, refers_to
from spfed.descriptors._service_checks import check_nsd
from spfed.descriptors._versions import version_key, version_matches
from spfed.descriptors.limits import limit_violations

__all__ = [
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
