"""The reference build preamble (preamble/*.sh) seen from Python: its interface, the offline oracle that
runs it and reads back what it wrote, and the generator of its catalog (preamble/lib/catalog.sh).

May import harness.contract and harness.infra.
"""
