"""Suite 3: hand-written scenarios, one module per resource, as a client team uses the API."""
