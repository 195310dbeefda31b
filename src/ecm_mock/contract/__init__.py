"""The contract kit: the fuzz, stateful and scenario suites (``ecm-mock contract``)."""
