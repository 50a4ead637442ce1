"""The hub's HTTP API (FastAPI): ``create_app`` builds it; routers live in ``routes/``."""
