"""Offline evaluation and calibration: Kabar used the way any client uses it."""
