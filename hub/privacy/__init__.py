"""Privacy by design (Loi 25, SPEC T2): the root key, and the erasure of a patient."""
