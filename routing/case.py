"""The case profile the routing engine decides on: risk, person, needs, place and consents."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .vocabulary import CHILD_AGE_BANDS, AgeBand, Need, RiskLevel, Sex


class CasePlace(BaseModel):
    """Where the person is: a position, and the gazetteer code it came from when known."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    code: str | None = None


class CaseProfile(BaseModel):
    """What routing needs to know about a case, and nothing more (no name, no phone number).

    Age bands: "under_12", "12_17", "18_25", "26_plus", "unknown"; under 18 is a child.
    `place` None means the place is unknown and the national desk takes the case.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(min_length=1)
    risk_level: RiskLevel
    danger_now: bool = False
    age_band: AgeBand = "unknown"
    sex: Sex = "unknown"
    needs: frozenset[Need] = frozenset()
    language: str = "fr"
    place: CasePlace | None = None
    consent_police: bool = False
    consent_callback: bool = False

    @property
    def is_child(self) -> bool:
        """True when the age band is under 18."""
        return self.age_band in CHILD_AGE_BANDS
