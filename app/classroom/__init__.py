"""Classroom mode: join codes, names and QR codes, LAN addresses, and the live event streams."""
