"""Conversation flows: YAML format, engine, rendering, linter and transcript tests (pure Python).

The public API the app calls is re-exported here; see docs/flows.md for the format.
"""

from flows.engine import (
    is_expired,
    new_state,
    offer_resume,
    resume_decision,
    start,
    step,
)
from flows.errors import FlowError, FlowMismatch, FlowProblem, has_errors, problems_to_json
from flows.flow import Flow
from flows.help import HelpDirectory, NearbyHelp, StaticHelpDirectory
from flows.lint import lint_flow_text, lint_paths
from flows.loader import analyse_flow_text, load_flow, load_flow_text
from flows.output import Event, EventKind, Output
from flows.places import (
    Place,
    PlaceDirectory,
    PlaceLike,
    PlaceMatch,
    StaticPlaceDirectory,
    default_places,
    place_to_dict,
)
from flows.preview import ScreenPreview, preview_nodes
from flows.sms_text import SmsEncoding, sms_encoding
from flows.textfold import ussd_safe
from flows.transcripts import TranscriptFailure, TranscriptReport, run_transcripts
from flows.vocabulary import (
    RiskAssessment,
    Vocabulary,
    assess_risk,
    default_vocabulary,
    load_vocabulary_text,
)

__all__ = [
    "Event",
    "EventKind",
    "Flow",
    "FlowError",
    "FlowMismatch",
    "FlowProblem",
    "HelpDirectory",
    "NearbyHelp",
    "Output",
    "Place",
    "PlaceDirectory",
    "PlaceLike",
    "PlaceMatch",
    "RiskAssessment",
    "ScreenPreview",
    "SmsEncoding",
    "StaticHelpDirectory",
    "StaticPlaceDirectory",
    "TranscriptFailure",
    "TranscriptReport",
    "Vocabulary",
    "analyse_flow_text",
    "assess_risk",
    "default_places",
    "default_vocabulary",
    "has_errors",
    "is_expired",
    "lint_flow_text",
    "lint_paths",
    "load_flow",
    "load_flow_text",
    "load_vocabulary_text",
    "new_state",
    "offer_resume",
    "place_to_dict",
    "preview_nodes",
    "problems_to_json",
    "resume_decision",
    "run_transcripts",
    "sms_encoding",
    "start",
    "step",
    "ussd_safe",
]
