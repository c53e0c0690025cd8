"""6. Peers side by side on the same sandbox store (see ``bench.peers.runner``)."""
