"""The audit trail for ops and auditors (``hub audit export``)."""
