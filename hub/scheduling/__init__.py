"""Scheduling use cases: clinics, professionals, services, slots, appointments, patients."""
