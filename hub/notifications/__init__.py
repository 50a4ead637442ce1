"""Patient communication (SPEC N1–N5): planning, delivery, templates, replies."""
