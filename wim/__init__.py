"""The WAN infrastructure manager: links between PoPs and domains, and slices.

It arrives with the WIM issue; the package name is fixed by the design card.
"""
