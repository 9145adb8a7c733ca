"""JetStream inbound adapter: GenerateRouteJob messages -> the GenerateRoute use case."""

from __future__ import annotations

import uuid

from nats.aio.msg import Msg

from wildside_common.bus.worker import attempt_of
from wildside_common.codec import decode, unpack
from wildside_common.errors import InvalidInput
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


def request_id_of(payload: bytes) -> str | None:
    """The request a job names, even when the rest of it is malformed (a field of the
    wrong type): that request must still end. None when there is no readable one."""
    try:
        return decode(GenerateRouteJob, payload).request_id
    except InvalidInput:
        pass
    try:
        value = unpack(payload).get("request_id")
        return str(uuid.UUID(value)) if isinstance(value, str) else None
    except (InvalidInput, ValueError):
        return None


class DeadRouteJobs:
    """Called for each dead-lettered route job (by the worker on a job it rejects, by the
    forwarder on one that ran out of deliveries): its request must still end, `failed`
    with the reason, where it exists. Idempotent: a request already final is left alone."""

    def __init__(self, use_case: GenerateRoute) -> None:
        self.use_case = use_case

    async def __call__(self, payload: bytes, reason: str) -> None:
        request_id = request_id_of(payload)
        if request_id is None:
            return  # no request named: nothing to finish
        await self.use_case.abandon(request_id, f"dead-lettered: {reason}"[:200])
