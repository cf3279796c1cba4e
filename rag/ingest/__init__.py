"""Turning files into clean `Article`s: reading, boilerplate removal, metadata."""
