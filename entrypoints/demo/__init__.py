"""Demo data: the demo clinic's directory, an EMR's SIU day, synthetic history, demo channels."""
