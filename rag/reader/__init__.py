"""A trained extractive reader: which sentence answers, the short answer inside it, and whether any does."""
