"""Entry points: the HTTP API, the command line, demo data. They import anything; nothing imports them."""
