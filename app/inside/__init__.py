"""A look inside the served models: NumPy forward and backward passes for /explain."""
