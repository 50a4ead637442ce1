"""The console in the browser: server-rendered pages for clinic staff, ops and citizens.

``install_console(app)`` adds its routes and static files to the API's FastAPI app; every page
calls the same hub use cases and read models as the API.
"""
