"""Citizen accounts (seed 001, SPEC A1–A6): open, add patients, the holder's update, the
clinic's identification and association validation."""
