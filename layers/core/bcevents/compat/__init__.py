"""What Cloud Elements users write, read the way Cloud Elements read it. Pure: no I/O.

The instance configuration and its secrets, CEQL ``where`` clauses, resource-URL placeholders,
Java date patterns and zones, how a record becomes an event, and the notification envelope.
"""
