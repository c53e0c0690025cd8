"""The API's use cases: instances, access, the event log, redelivery and status, with their models."""
