"""JetStream inbound adapter: GenerateRouteJob messages -> the GenerateRoute use case."""

from __future__ import annotations

from nats.aio.msg import Msg

from wildside_common.bus.worker import attempt_of
from wildside_common.codec import decode
from wildside_common.logs import bind
from wildside_common.messages import GenerateRouteJob
from wildside_router.app import GenerateRoute


class RouteJobHandler:
    def __init__(self, use_case: GenerateRoute) -> None:
        self.use_case = use_case

    async def __call__(self, msg: Msg) -> None:
        job = decode(GenerateRouteJob, msg.data)
        with bind(request_id=job.request_id, user_id=job.user_id):
            await self.use_case.handle(job, attempt_of(msg))


class DeadRouteJobs:
    """Called for each dead-lettered route job: its request must still end."""

    def __init__(self, use_case: GenerateRoute) -> None:
        self.use_case = use_case

    async def __call__(self, payload: bytes, reason: str) -> None:
        try:
            job = decode(GenerateRouteJob, payload)
        except Exception:
            return  # malformed: nothing to finish
        await self.use_case.abandon(job.request_id, f"dead-lettered: {reason}"[:200])
