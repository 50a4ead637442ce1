"""One module per resource, each exposing ``router: APIRouter`` (see ``ROUTER_MODULES``)."""
