# Loaded by Python at start when this folder is on PYTHONPATH (integration tests only): every
# *.cluster.local name resolves to this machine, so that a rendered config naming the cluster's
# Services loads outside the cluster. Nothing else changes.
import socket

_getaddrinfo = socket.getaddrinfo


def _local(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".cluster.local"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _local
