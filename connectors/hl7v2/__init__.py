"""HL7 v2 SIU scheduling messages: parse and build with hl7apy, MLLP transport, outbound feed."""
