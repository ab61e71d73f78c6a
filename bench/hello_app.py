"""The benchmark's anchor: FastAPI's hello world, served exactly like the services
(``uvicorn --factory … --no-access-log``, one worker)."""

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    def hello() -> dict[str, str]:
        return {"message": "Hello World"}

    return app
