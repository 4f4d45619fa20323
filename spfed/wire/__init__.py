"""The API edge: conversions between the domain model and ``spfed.v1`` messages.

Together with the servicer (``lower_sp.api.servicer``), the client
(``spfed.client``) and the server assembly, this is the only code that imports
the generated stubs.
"""

from spfed.wire.accounts import (
    account_from_pb,
    account_to_pb,
    kind_from_pb,
    kind_to_pb,
    role_from_pb,
    role_to_pb,
)
from spfed.wire.catalogue import (
    catalogue_from_pb,
    catalogue_payload,
    catalogue_to_pb,
    signed_catalogue_from_pb,
    signed_catalogue_to_pb,
)
from spfed.wire.descriptors import (
    nsd_from_pb,
    nsd_to_pb,
    ref_from_pb,
    ref_to_pb,
    vnfd_from_pb,
    vnfd_to_pb,
)
from spfed.wire.services import (
    event_from_pb,
    event_to_pb,
    instantiate_request_from_pb,
    instantiate_request_to_pb,
    operation_from_pb,
    operation_to_pb,
    service_from_pb,
    service_to_pb,
)
from spfed.wire.slices import (
    create_slice_request_from_pb,
    create_slice_request_to_pb,
    slice_from_pb,
    slice_template_from_pb,
    slice_template_to_pb,
    slice_to_pb,
)
from spfed.wire.status import (
    error_from_rpc,
    error_from_status,
    error_status_from_pb,
    error_status_to_pb,
    grpc_status_for,
    status_from_error,
)

__all__ = [
    "account_from_pb",
    "account_to_pb",
    "catalogue_from_pb",
    "catalogue_payload",
    "catalogue_to_pb",
    "create_slice_request_from_pb",
    "create_slice_request_to_pb",
    "error_from_rpc",
    "error_from_status",
    "error_status_from_pb",
    "error_status_to_pb",
    "event_from_pb",
    "event_to_pb",
    "grpc_status_for",
    "instantiate_request_from_pb",
    "instantiate_request_to_pb",
    "kind_from_pb",
    "kind_to_pb",
    "nsd_from_pb",
    "nsd_to_pb",
    "operation_from_pb",
    "operation_to_pb",
    "ref_from_pb",
    "ref_to_pb",
    "role_from_pb",
    "role_to_pb",
    "service_from_pb",
    "service_to_pb",
    "signed_catalogue_from_pb",
    "signed_catalogue_to_pb",
    "slice_from_pb",
    "slice_template_from_pb",
    "slice_template_to_pb",
    "slice_to_pb",
    "status_from_error",
    "vnfd_from_pb",
    "vnfd_to_pb",
]
