"""Prefect deployments: one per pipeline config, on the config's cron schedule, served by ``synth serve``."""

from __future__ import annotations

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from pipelines.config import PipelineConfig
from pipelines.flow import synthesize

__all__ = ["deployment", "serve_configs"]


def deployment(config: PipelineConfig) -> RunnerDeployment:
    """The deployment ``synthesize/<name>``: the whole config as its parameter, so a run needs nothing else."""
    schedules = [] if config.schedule is None else [Cron(config.schedule.cron, timezone=config.schedule.timezone)]
    made = synthesize.to_deployment(
        name=config.name,
        schedules=schedules,
        parameters={"config": config.model_dump(mode="json", by_alias=True)},
        tags=["synth", *config.tags],
        description=config.description or f"Synthesize {config.name} from {config.source}",
        version=config.digest()[:12],
        entrypoint_type=EntrypointType.MODULE_PATH,  # found through the installed package, from any directory
    )
    assert isinstance(made, RunnerDeployment)  # called outside an event loop, so not a coroutine
    return made


def serve_configs(configs: list[PipelineConfig], *, limit: int | None = None) -> None:
    """Serve the deployments until interrupted; each run starts in its own process at the runner's next poll."""
    serve(*(deployment(config) for config in configs), limit=limit)
