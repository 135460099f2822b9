"""GET /health (the process answers) and /ready (models loaded and warm) for probes.

Handlers here and in app.routers.models are async: they only read memory, and a plain function
would cost a thread-pool hop per call.
"""

from fastapi import APIRouter

from app.dependencies import Registry
from app.schemas import ERROR_RESPONSES, Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health() -> Health:
    """Answers as long as the process serves requests, even while models load."""
    return Health(status="ok")


@router.get("/ready", summary="Readiness", responses={503: ERROR_RESPONSES[503]})
async def ready(registry: Registry) -> Readiness:
    """200 once every model is loaded and warm; 503 with not_ready before."""
    return Readiness(status="ready", models=registry.names, default_model=registry.default_name)


# Uptime monitors and load balancers often probe with HEAD: same answers, no body.
for path, probe in (("/health", health), ("/ready", ready)):
    router.add_api_route(path, probe, methods=["HEAD"], include_in_schema=False)
