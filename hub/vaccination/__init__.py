"""2nd-dose rescheduling (SPEC V1–V4, seed 000): doses at booking, batch invitations, the
citizen's self-service rebooking and the product switch. docs/vaccination.md."""
