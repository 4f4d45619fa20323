"""Crash tests: real federations whose nodes die at named workflow points (``spfed.faults``)."""
