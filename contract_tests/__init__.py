"""The ECM contract kit: fuzz, stateful and scenario suites against the mock or a real UMM."""
