"""The axon's forward, blacklist, priority and verify functions for the three synapses.

No `from __future__ import annotations` here: `axon.attach` compares these signatures with real
classes, and string annotations fail that check (BITTENSOR.md).

Forwards are async and do their file reading in worker threads and their Module 2 calls with an
async client, so one slow request never holds up the axon's event loop. The rate limit is applied
in the forward, i.e. after the axon verified the signature: a forged hotkey header cannot spend a
validator's budget. Over the limit the answer is 429. Verification (signature, seen-nonce cache) is the
RequestVerifier's; refusals are counted in the RefusalLog.
"""

import asyncio
import base64
import typing
from typing import Any, Callable

from bittensor import TerminalInfo

from content_miner.common.account import AccountKey, InvalidAccount
from content_miner.images.names import InvalidName, check_name
from content_miner.neuron.access_policy import AccessPolicy, RateLimiter
from content_miner.neuron.account_jobs import AccountJobs, JobSubmitError
from content_miner.neuron.module2_client import Module2Client, Module2Unavailable
from content_miner.neuron.refusal_log import RefusalLog
from content_miner.neuron.replay_guard import RequestVerifier
from content_miner.neuron.stage_view import StageView
from content_miner_protocol import (
    ContentPlanSynapse,
    ImageSummary,
    RecommendationImageSynapse,
    StageEntry,
    StageEvent,
    StageStatusSynapse,
)

AnySynapse = ContentPlanSynapse | StageStatusSynapse | RecommendationImageSynapse


class SynapseHandlers:
    def __init__(self, *, jobs: AccountJobs, stages: StageView, module2: Module2Client, access: AccessPolicy,
                 limiter: RateLimiter, verifier: RequestVerifier, refusals: RefusalLog,
                 module_states: Callable[[], dict], logger: Any, mode: str = "watchdog") -> None:
        self.jobs = jobs
        self.stages = stages
        self.module2 = module2
        self.access = access
        self.limiter = limiter
        self.verifier = verifier
        self.refusals = refusals
        self.module_states = module_states
        self.logger = logger
        self.mode = mode

    # -- shared -------------------------------------------------------------------------------

    def _refusal(self, synapse: AnySynapse) -> typing.Tuple[bool, str]:
        reason = self.access.refusal(synapse.dendrite.hotkey if synapse.dendrite else None)
        return (reason is not None), (reason or "allowed")

    def _over_limit(self, synapse: AnySynapse) -> bool:
        hotkey = synapse.dendrite.hotkey if synapse.dendrite else ""
        if self.limiter.allow(hotkey or ""):
            return False
        self._fail(synapse, 429, f"rate limit: more than {self.limiter.rate * 60:g} requests per minute from {hotkey}")
        self.refusals.record(hotkey, 429, "over the rate limit")
        return True

    def _fail(self, synapse: AnySynapse, code: int, message: str) -> None:
        if synapse.axon is None:  # typed Optional; the axon fills it in before any handler runs
            synapse.axon = TerminalInfo()
        synapse.axon.status_code = code
        synapse.axon.status_message = message

    def _unexpected(self, synapse: AnySynapse, err: Exception) -> None:
        self.logger.error(f"{synapse.__class__.__name__} failed: {type(err).__name__}: {err}")
        self._fail(synapse, 500, "internal error; see the miner's log")

    # -- content plans ------------------------------------------------------------------------

    async def plan(self, synapse: ContentPlanSynapse) -> ContentPlanSynapse:
        if self._over_limit(synapse):
            return synapse
        hotkey = synapse.dendrite.hotkey if synapse.dendrite else None
        neuron = self.access.neuron(hotkey)
        try:
            answer = await self.jobs.submit(synapse.platform, synapse.username, submitter=hotkey or "unknown",
                                            stake=neuron.stake if neuron else 0.0,
                                            force_fresh=bool(synapse.force_fresh), max_posts=synapse.max_posts)
        except (Module2Unavailable, JobSubmitError) as err:
            self._fail(synapse, 503, str(err))
            return synapse
        except Exception as err:
            self._unexpected(synapse, err)
            return synapse
        synapse.state = answer.state
        synapse.message = answer.message
        synapse.stage = _entry(answer.stage) if answer.stage else None
        synapse.plan = answer.plan
        synapse.images = [ImageSummary(**image) for image in answer.images] if answer.images is not None else None
        synapse.retry_after = answer.retry_after
        synapse.queue_position = answer.queue_position
        return synapse

    def blacklist_plan(self, synapse: ContentPlanSynapse) -> typing.Tuple[bool, str]:
        return self._refusal(synapse)

    def priority_plan(self, synapse: ContentPlanSynapse) -> float:
        return self.access.priority(synapse.dendrite.hotkey if synapse.dendrite else None)

    def verify_plan(self, synapse: ContentPlanSynapse) -> None:
        self.verifier.verify(synapse)

    # -- stage status -------------------------------------------------------------------------

    async def status(self, synapse: StageStatusSynapse) -> StageStatusSynapse:
        if self._over_limit(synapse):
            return synapse
        username = ""
        if synapse.username:
            try:
                username = AccountKey.parse(synapse.platform, synapse.username).username
            except InvalidAccount as err:
                self._fail(synapse, 400, str(err))
                return synapse
        try:
            page = await asyncio.to_thread(self.stages.snapshot, username, synapse.events_limit,
                                           limit=synapse.limit, cursor=synapse.cursor or "")
        except Exception as err:
            self._unexpected(synapse, err)
            return synapse
        synapse.mode = self.mode
        synapse.modules = self.module_states()
        synapse.current = [_entry(entry) for entry in page.current]
        synapse.events = [_event(event) for event in page.events]
        synapse.next_cursor = page.next_cursor
        synapse.total = page.total
        return synapse

    def blacklist_status(self, synapse: StageStatusSynapse) -> typing.Tuple[bool, str]:
        return self._refusal(synapse)

    def priority_status(self, synapse: StageStatusSynapse) -> float:
        return self.access.priority(synapse.dendrite.hotkey if synapse.dendrite else None)

    def verify_status(self, synapse: StageStatusSynapse) -> None:
        self.verifier.verify(synapse)

    # -- images -------------------------------------------------------------------------------

    async def image(self, synapse: RecommendationImageSynapse) -> RecommendationImageSynapse:
        if self._over_limit(synapse):
            return synapse
        try:
            key = AccountKey.parse(synapse.platform, synapse.username)
            rec_id = check_name("recommendation id", synapse.recommendation_id)
        except (InvalidAccount, InvalidName) as err:
            synapse.state, synapse.message = "rejected", str(err)
            return synapse
        try:
            answer = await self.module2.image(key.platform, key.username, rec_id)
        except Module2Unavailable as err:
            self._fail(synapse, 503, str(err))
            return synapse
        except Exception as err:
            self._unexpected(synapse, err)
            return synapse
        if answer.status == 200 and answer.png is not None:
            synapse.state, synapse.message = "ready", f"{len(answer.png)} bytes"
            synapse.image_png_b64 = base64.b64encode(answer.png).decode("ascii")
        elif answer.status == 503:
            synapse.state, synapse.message = "pending", answer.detail or "not rendered yet; ask again shortly"
        elif answer.status == 400:
            synapse.state, synapse.message = "rejected", answer.detail
        else:
            synapse.state, synapse.message = "not_found", answer.detail or "no such recommendation"
        return synapse

    def blacklist_image(self, synapse: RecommendationImageSynapse) -> typing.Tuple[bool, str]:
        return self._refusal(synapse)

    def priority_image(self, synapse: RecommendationImageSynapse) -> float:
        return self.access.priority(synapse.dendrite.hotkey if synapse.dendrite else None)

    def verify_image(self, synapse: RecommendationImageSynapse) -> None:
        self.verifier.verify(synapse)


def _entry(entry: dict) -> StageEntry:
    fields = StageEntry.model_fields
    return StageEntry(**{key: value for key, value in entry.items() if key in fields})


def _event(event: dict) -> StageEvent:
    fields = StageEvent.model_fields
    return StageEvent(**{key: value for key, value in event.items() if key in fields})
