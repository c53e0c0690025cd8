"""The domain core of the BigCommerce polling-events service.

Handlers in ``functions/`` parse their event, call one function of this package and turn the
result into their response. Nothing here imports a handler.
"""
