"""Generated gRPC and protobuf stubs of spfed.v1. Do not edit; run `make proto`."""
