"""Qualification against a real OpenStack brought up on this machine by ``harness``.

``python -m tests.openstack up|down|status`` (``make openstack-up``, ``make openstack-down``)
runs one that outlives the command; the session fixture ``openstack_cloud`` reuses it when it
is healthy, and otherwise starts and removes its own.
"""
