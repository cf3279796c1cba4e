"""Optional: a written answer from a language model, every claim checked against its citations."""
