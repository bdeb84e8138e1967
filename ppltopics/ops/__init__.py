"""Numerical building blocks shared by the distributions and models (special functions)."""
