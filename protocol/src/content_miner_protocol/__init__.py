"""The content-recommendation miner's wire protocol, for validators and for the miner itself.

    from content_miner_protocol import ContentPlanSynapse, StageStatusSynapse, RecommendationImageSynapse

Every request field that changes the answer is in the synapse's `required_hash_fields`, so the
dendrite's signature covers it. Answers arrive in the same synapse object.
"""

from content_miner_protocol.synapses import (
    PLAN_STATES,
    ContentPlanSynapse,
    ImageSummary,
    RecommendationImageSynapse,
    StageEntry,
    StageEvent,
    StageStatusSynapse,
)

__all__ = [
    "PLAN_STATES", "ContentPlanSynapse", "ImageSummary", "RecommendationImageSynapse", "StageEntry",
    "StageEvent", "StageStatusSynapse",
]
