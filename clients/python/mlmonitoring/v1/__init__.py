"""Generated from protos/mlmonitoring/v1/monitoring.proto by protoc 3.21 and grpc_python_plugin (see clients/python/README.md)."""
