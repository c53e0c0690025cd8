"""Delivery: one attempt to POST a notification to its callback, signed, and what happens next."""
