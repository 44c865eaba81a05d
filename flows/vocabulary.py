"""The shared trafficking-indicator vocabulary and the explainable risk assessment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.errors import FlowError, FlowProblem
from flows.source import line_of, read_yaml

RiskLevel = Literal["low", "medium", "high", "critical"]
LEVELS: tuple[RiskLevel, ...] = ("low", "medium", "high", "critical")


class _IndicatorModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    weight: int = Field(ge=0, le=100)
    label: dict[str, str]


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    indicator: str
    at_least: RiskLevel


class _RiskModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    thresholds: dict[RiskLevel, int]
    rules: list[_RuleModel] = []


class _VocabularyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    risk: _RiskModel
    needs: dict[str, dict[str, str]]
    indicators: dict[str, _IndicatorModel]

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value


@dataclass(frozen=True)
class Indicator:
    """One indicator: id, source (ILO, UNODC, Mali), weight and labels per language."""

    id: str
    source: str
    weight: int
    label: Mapping[str, str]


@dataclass(frozen=True)
class Vocabulary:
    """The versioned indicators, needs, thresholds and rules shared by all flows."""

    version: str
    indicators: Mapping[str, Indicator]
    needs: Mapping[str, Mapping[str, str]]
    thresholds: tuple[tuple[RiskLevel, int], ...]
    rules: tuple[tuple[str, RiskLevel], ...]


@dataclass(frozen=True)
class RiskAssessment:
    """A risk level with its score and the reasons, each traceable to answers.

    `indicators`: [{id, source, points, sources: [{node, answer}]}] (points counted once
    per indicator); `extra_points`: [{node, answer, points}] from `score:` effects;
    `reasons`: [{rule: "threshold", level, score, threshold}] and
    [{rule: "indicator", indicator, at_least}] for each rule that raised the level.
    """

    level: RiskLevel
    score: int
    indicators: list[dict[str, Any]]
    extra_points: list[dict[str, Any]]
    reasons: list[dict[str, Any]]


def load_vocabulary_text(text: str, path: str = "<indicators>") -> Vocabulary:
    """Build a Vocabulary from YAML text; raises FlowError naming the line of each problem."""
    tree = read_yaml(text, path)
    try:
        model = _VocabularyModel.model_validate(tree)
    except ValidationError as exc:
        raise FlowError([
            FlowProblem(path, line_of(tree, tuple(err["loc"])), "error",
                        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}.")
            for err in exc.errors()
        ]) from None
    problems = []
    for level in LEVELS:
        if level not in model.risk.thresholds:
            problems.append(FlowProblem(path, line_of(tree, ("risk", "thresholds")), "error",
                                        f"The risk thresholds need a value for '{level}'."))
    for i, rule in enumerate(model.risk.rules):
        if rule.indicator not in model.indicators:
            problems.append(FlowProblem(path, line_of(tree, ("risk", "rules", i)), "error",
                                        f"The rule names an unknown indicator "
                                        f"'{rule.indicator}'."))
    if problems:
        raise FlowError(problems)
    return Vocabulary(
        version=model.version,
        indicators={k: Indicator(k, v.source, v.weight, dict(v.label))
                    for k, v in model.indicators.items()},
        needs={k: dict(v) for k, v in model.needs.items()},
        thresholds=tuple(sorted(model.risk.thresholds.items(), key=lambda kv: kv[1])),
        rules=tuple((r.indicator, r.at_least) for r in model.risk.rules),
    )


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """Return the shipped vocabulary (flows/indicators.yaml), read once per process."""
    path = Path(__file__).with_name("indicators.yaml")
    return load_vocabulary_text(path.read_text(encoding="utf-8"), str(path))


def score_of(vocabulary: Vocabulary, hits: Iterable[Mapping[str, Any]],
             extra_points: Iterable[Mapping[str, Any]] = ()) -> int:
    """Return the score assess_risk would give, without building the explanation."""
    seen = {hit["indicator"] for hit in hits}
    return (sum(vocabulary.indicators[i].weight for i in seen)
            + sum(item["points"] for item in extra_points))


def assess_risk(vocabulary: Vocabulary, hits: Iterable[Mapping[str, Any]],
                extra_points: Iterable[Mapping[str, Any]] = ()) -> RiskAssessment:
    """Score indicator hits and extra points into an explainable RiskAssessment.

    `hits` are {indicator, node, answer} records in the order they happened; an indicator
    found twice scores once but keeps both sources. `extra_points` are {node, answer,
    points}. Raises KeyError for an indicator id the vocabulary does not know.
    """
    grouped: dict[str, dict[str, Any]] = {}
    for hit in hits:
        ind = vocabulary.indicators[hit["indicator"]]
        entry = grouped.setdefault(ind.id, {"id": ind.id, "source": ind.source,
                                            "points": ind.weight, "sources": []})
        entry["sources"].append({"node": hit["node"], "answer": hit["answer"]})
    extras = [dict(item) for item in extra_points]
    score = sum(e["points"] for e in grouped.values()) + sum(e["points"] for e in extras)
    level: RiskLevel = "low"
    threshold = 0
    for name, minimum in vocabulary.thresholds:
        if score >= minimum:
            level, threshold = name, minimum
    reasons: list[dict[str, Any]] = [{"rule": "threshold", "level": level, "score": score,
                                      "threshold": threshold}]
    for indicator, at_least in vocabulary.rules:
        if indicator in grouped and LEVELS.index(at_least) > LEVELS.index(level):
            level = at_least
            reasons.append({"rule": "indicator", "indicator": indicator, "at_least": at_least})
    return RiskAssessment(level, score, list(grouped.values()), extras, reasons)
