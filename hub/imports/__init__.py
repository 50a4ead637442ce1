"""Staff and services imports from a clinic's EMR."""
