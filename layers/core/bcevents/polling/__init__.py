"""The poll use case: one run of one instance, its paging strategies and watermarks.

The pager asks the store for pages and hands their events to a sink; it does no AWS I/O itself.
"""
