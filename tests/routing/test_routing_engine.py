"""Tests of eligibility, the consent rule, ranking, national-desk fallback and the index."""

from __future__ import annotations

import itertools
import json
import math
import random
from datetime import UTC, datetime, timedelta, timezone
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from routing_helpers import make_case, make_provider

from routing import index as index_module
from routing.directory import OpeningHours, load_demo_providers
from routing.eligibility import check_eligibility
from routing.engine import route
from routing.gazetteer import default_gazetteer
from routing.geo import haversine_km
from routing.index import DirectoryIndex, nearest_help, rank_key
from routing.rules import load_rules

RULES = load_rules()
NOW = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Bamako


def codes(provider, case, role="shelter", now=NOW, **kw):
    """Return the eligibility reason codes of a provider for a role."""
    reasons = check_eligibility(provider, case, RULES.roles[role], local_now=now.astimezone(RULES.zone), **kw)
    return [r.code for r in reasons]


def test_eligible_provider_has_no_reason():
    """A shelter that fits the case in every way has no reason against it."""
    assert codes(make_provider("a"), make_case(needs={"shelter"})) == []


def test_serves_sex_and_age():
    """A shelter for women is not eligible for a boy, and one for children not for an adult."""
    women_only = make_provider("a", serves=frozenset({"women"}))
    assert codes(women_only, make_case(sex="male", age_band="12_17")) == ["not_serving"]
    children = make_provider("b", serves=frozenset({"girls", "boys"}))
    assert codes(children, make_case(sex="female", age_band="26_plus")) == ["not_serving"]
    assert codes(children, make_case(sex="unknown", age_band="under_12")) == []
    # Unknown age: a provider serving any group the person may be in is kept.
    assert codes(women_only, make_case(sex="female", age_band="unknown")) == []


def test_services_required_by_the_role():
    """A provider without the role's service is left out, naming the missing service."""
    no_legal = make_provider("a", kind="legal_aid", services=frozenset({"medical"}))
    reasons = check_eligibility(no_legal, make_case(), RULES.roles["legal"], local_now=NOW)
    assert [(r.code, r.params["services"]) for r in reasons] == [("missing_services", ["legal"])]


def test_capacity_for_shelter():
    """A full shelter is left out; one that has not reported beds is left out unless allowed."""
    assert codes(make_provider("a", beds_free=0), make_case()) == ["no_bed"]
    unknown = make_provider("b", beds_free=None)
    assert codes(unknown, make_case()) == ["capacity_unknown"]
    assert codes(unknown, make_case(), allow_unknown_capacity=True) == []


def test_open_now_in_bamako_time():
    """Office hours are read in Bamako time; 24/7 is always open; police ignore hours."""
    office = make_provider("a", hours=OpeningHours.parse("mon-fri 08:00-17:00"))
    assert codes(office, make_case()) == []
    # 07:30 in Bamako, given as 09:30 in a UTC+2 clock: still before opening.
    early = datetime(2025, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert codes(office, make_case(), now=early) == ["closed_now"]
    assert codes(office, make_case(), now=datetime(2025, 3, 8, 10, 0, tzinfo=UTC)) == ["closed_now"]
    police = make_provider("p", kind="police", hours=OpeningHours.parse("mon-fri 08:00-17:00"))
    assert codes(police, make_case(), role="police", now=early) == ["closed_now"]


def test_language():
    """A shelter that does not speak the caller's language is left out; police are not."""
    french_only = make_provider("a", languages=("fr",))
    assert codes(french_only, make_case(language="bm")) == ["language"]
    police = make_provider("p", kind="police", languages=("fr",))
    assert codes(police, make_case(language="bm"), role="police") == []


def test_wrong_kind_is_reported():
    """A provider of a kind outside the role is never eligible for it."""
    assert codes(make_provider("h", kind="health", beds_free=2), make_case()) == ["wrong_kind"]


# --- consent -------------------------------------------------------------------------------


def directory():
    """A small directory: a shelter, a police unit, child protection, a national desk."""
    return DirectoryIndex.build(
        [
            make_provider("shelter1", lat=12.61, lon=-8.0),
            make_provider("police1", kind="police", lat=12.62, lon=-8.0),
            make_provider("cp1", kind="child_protection", lat=12.63, lon=-8.0),
            make_provider("desk", kind="national_desk", lat=12.64, lon=-8.0),
        ]
    )


def referred(decision):
    """Return {provider id: role} of a decision's referrals."""
    return {r.provider_id: r.role for r in decision.referrals}


def test_police_with_consent():
    """An adult in a critical case who consents gets police and a shelter at once."""
    case = make_case(risk_level="critical", consent_police=True)
    decision = route(case, directory(), RULES, now=NOW)
    assert referred(decision)["police1"] == "police"
    assert referred(decision)["shelter1"] == "shelter"
    assert decision.police.allowed and decision.police.code == "consent"


def test_no_police_without_consent_for_an_adult():
    """Without consent and no exception, police are not alerted, and the reason is kept."""
    case = make_case(risk_level="critical", consent_police=False)
    decision = route(case, directory(), RULES, now=NOW)
    assert "police1" not in referred(decision)
    assert decision.police.asked and not decision.police.allowed
    assert decision.police.code == "no_consent"
    police_role = next(o for o in decision.roles if o.role == "police")
    assert police_role.status == "not_allowed"
    assert "did not consent" in police_role.reason.sentence()


def test_child_exception_alerts_police_and_child_protection():
    """A child gets police (exception "child") and child protection, even without consent."""
    case = make_case(risk_level="critical", age_band="12_17", consent_police=False)
    decision = route(case, directory(), RULES, now=NOW)
    assert decision.police.code == "exception:child"
    assert "child" in decision.police.reason.sentence()
    assert referred(decision)["police1"] == "police"
    assert referred(decision)["cp1"] == "child_protection"


def test_danger_now_exception():
    """Danger to life now alerts the police without consent, with that reason."""
    case = make_case(risk_level="critical", danger_now=True, consent_police=False)
    decision = route(case, directory(), RULES, now=NOW)
    assert decision.police.code == "exception:danger_to_life"
    assert "police1" in referred(decision)


def test_police_not_asked():
    """A case no rule sends to the police records that no rule asked for them."""
    decision = route(make_case(risk_level="high"), directory(), RULES, now=NOW)
    assert not decision.police.asked and decision.police.code == "not_asked"


# --- ranking -------------------------------------------------------------------------------


def test_nearest_eligible_wins_and_explanation_lists_the_left_out():
    """The nearest eligible shelter is chosen; a nearer full one is left out with its reason."""
    providers = [
        make_provider("full", lat=12.601, lon=-8.0, beds_free=0),
        make_provider("near", lat=12.65, lon=-8.0),
        make_provider("far", lat=13.5, lon=-8.0),
        make_provider("desk", kind="national_desk", lat=12.64, lon=-8.0),
    ]
    decision = route(make_case(needs={"shelter"}), providers, RULES, now=NOW)
    shelter = next(r for r in decision.referrals if r.role == "shelter")
    assert shelter.provider_id == "near"
    assert shelter.distance_km == pytest.approx(haversine_km(12.6, -8.0, 12.65, -8.0))
    notes = {n.provider_id: n for n in decision.candidates if n.role == "shelter"}
    assert notes["full"].outcome == "left_out"
    assert [r.code for r in notes["full"].reasons] == ["no_bed"]
    assert notes["far"].outcome == "ranked"
    assert decision.ranked_for("shelter") == ("near", "far")
    assert any("no free bed" in line for line in decision.explain())
    assert any("aucun lit libre" in line for line in decision.explain("fr"))


def test_ties_broken_by_capacity_then_id():
    """Shelters at the same distance are ranked by more free beds, then by id."""
    providers = [
        make_provider("b-two", beds_free=2),
        make_provider("a-two", beds_free=2),
        make_provider("c-five", beds_free=5),
    ]
    decision = route(make_case(needs={"shelter"}), providers, RULES, now=NOW)
    assert decision.ranked_for("shelter") == ("c-five", "a-two", "b-two")


def test_one_alert_per_provider_filling_two_roles():
    """A shelter chosen for two roles gets one referral that covers both."""
    providers = [
        make_provider("s", services=frozenset({"shelter", "psychosocial"})),
        make_provider("desk", kind="national_desk"),
    ]
    case = make_case(needs={"shelter", "psychosocial"})
    decision = route(case, providers, RULES, now=NOW)
    shelter_refs = [r for r in decision.referrals if r.provider_id == "s"]
    assert len(shelter_refs) == 1
    assert shelter_refs[0].role == "shelter" and shelter_refs[0].also_for == ("support",)


# --- national desk -------------------------------------------------------------------------


def test_too_far_goes_to_the_national_desk():
    """With the only shelter beyond the maximum distance, the national desk takes the role."""
    providers = [make_provider("far", lat=20.0, lon=0.0), make_provider("desk", kind="national_desk")]
    decision = route(make_case(needs={"shelter"}), providers, RULES, now=NOW)
    desk = next(r for r in decision.referrals if r.provider_id == "desk")
    assert desk.fallback and "shelter" in desk.also_for
    assert any(f.code == "desk_too_far" for f in decision.fallbacks)
    assert next(o for o in decision.roles if o.role == "shelter").status == "national_desk"


def test_unknown_place_goes_to_the_national_desk():
    """A case with no known place goes to the national desk, with that reason."""
    decision = route(make_case(lat=None, needs={"shelter"}), directory(), RULES, now=NOW)
    assert [r.provider_id for r in decision.referrals] == ["desk"]
    assert decision.referrals[0].distance_km is None
    assert decision.fallbacks[0].code == "desk_place_unknown"


def test_no_eligible_provider_goes_to_the_national_desk():
    """When every shelter is full, the national desk takes the case."""
    providers = [make_provider("full", beds_free=0), make_provider("desk", kind="national_desk")]
    decision = route(make_case(needs={"shelter"}), providers, RULES, now=NOW)
    assert [r.provider_id for r in decision.referrals] == ["desk"]


def test_no_desk_leaves_the_case_unrouted_for_an_operator():
    """Without any national desk, the roles are marked unrouted so an operator acts."""
    decision = route(make_case(needs={"shelter"}), [make_provider("full", beds_free=0)], RULES, now=NOW)
    assert decision.referrals == ()
    assert next(o for o in decision.roles if o.role == "shelter").status == "unrouted"
    assert any(f.code == "desk_missing" for f in decision.fallbacks)


def test_naive_now_is_refused():
    """route() refuses a naive datetime, since opening hours depend on the zone."""
    with pytest.raises(ValueError):
        route(make_case(), directory(), RULES, now=datetime(2025, 3, 4, 10, 0))


def test_decision_is_json_ready():
    """A decision converts to JSON with codes and sentences."""
    decision = route(make_case(risk_level="critical", age_band="under_12"), directory(), RULES, now=NOW)
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["police"]["code"] == "exception:child"
    assert data["alert_deadline"] == 600
    assert all("sentence" in r["reason"] for r in data["referrals"])


def test_demo_case_in_bamako_reaches_ajdm_and_police():
    """A child in danger in Bamako is sent to the AJDM centre and a Bamako police unit."""
    gazetteer = default_gazetteer()
    place = gazetteer.match("Banconi").place
    case = make_case(
        place.latitude,
        place.longitude,
        risk_level="critical",
        danger_now=True,
        age_band="12_17",
        needs={"shelter"},
        language="bm",
    )
    decision = route(case, DirectoryIndex.build(load_demo_providers()), RULES, now=NOW)
    roles = referred(decision)
    assert roles["shelter.ajdm.bamako"] == "shelter"
    assert roles["police.bamako"] == "police"
    assert roles["child-protection.bamako"] == "child_protection"


# --- help near me --------------------------------------------------------------------------


def test_help_near_gao_lists_gao_before_bamako():
    """Help near Gao lists the Gao entries before any Bamako entry, with public phones only."""
    index = DirectoryIndex.build(load_demo_providers())
    gao = default_gazetteer().match("Gao").place
    points = nearest_help(index, gao.latitude, gao.longitude, limit=200)
    places = [p.provider.place for p in points]
    gao_rows = [i for i, place in enumerate(places) if place == "gao.gao"]
    bamako_rows = [i for i, place in enumerate(places) if place and place.startswith("bamako")]
    assert gao_rows == list(range(len(gao_rows))) and len(gao_rows) >= 5
    assert bamako_rows and max(gao_rows) < min(bamako_rows)
    assert all(p.distance_km <= q.distance_km for p, q in itertools.pairwise(points))
    assert all(p.provider.kind != "shelter" for p in points)
    for point in points:
        assert (point.phone is not None) == point.provider.publishes_phone
    public = nearest_help(index, gao.latitude, gao.longitude, limit=3, only_public_phone=True)
    assert all(p.phone for p in public) and len(public) == 3


def test_help_near_with_kinds_and_bad_limit():
    """nearest_help keeps to the kinds asked for and refuses a limit below one."""
    index = directory()
    points = nearest_help(index, 12.6, -8.0, kinds=["police"], limit=5)
    assert [p.provider.id for p in points] == ["police1"]
    with pytest.raises(ValueError):
        nearest_help(index, 12.6, -8.0, limit=0)


# --- equality with brute force -------------------------------------------------------------

KINDS = ["shelter", "ngo", "police", "gendarmerie", "child_protection", "national_desk"]
positions = st.one_of(
    st.tuples(st.floats(10.0, 25.0), st.floats(-12.5, 4.5)),
    st.sampled_from([(12.6, -8.0), (16.27, -0.04), (12.6001, -8.0001)]),  # exact ties
)


HOURS = [OpeningHours.parse(h) for h in ("24/7", "mon-fri 08:00-17:00", "sat-sun 10:00-12:00")]


def provider_from_seed(i: int, position: tuple[float, float], seed: int):
    """Build provider number i at a position, its other attributes drawn from a seed.

    Hypothesis draws only the position and the seed, which keeps example generation fast.
    """
    rng = random.Random(seed)
    return make_provider(
        f"p{i:03d}",
        kind=rng.choice(KINDS),
        lat=position[0],
        lon=position[1],
        beds_free=rng.choice([None, 0, 1, 2, 4]),
        serves=frozenset(rng.sample(["women", "men", "girls", "boys"], rng.randint(1, 4))),
        services=frozenset(rng.sample(["shelter", "psychosocial", "medical", "legal"], rng.randint(0, 4))),
        hours=rng.choice(HOURS),
        languages=tuple(rng.sample(["fr", "bm", "en"], rng.randint(1, 3))),
        active=rng.random() > 0.1,
    )


providers_strategy = st.lists(st.tuples(positions, st.integers(0, 2**32)), max_size=60).map(
    lambda items: [provider_from_seed(i, pos, seed) for i, (pos, seed) in enumerate(items)]
)

cases = st.builds(
    lambda pos, risk, age, sex, needs, lang, police, danger: make_case(
        pos[0],
        pos[1],
        risk_level=risk,
        age_band=age,
        sex=sex,
        needs=needs,
        language=lang,
        consent_police=police,
        danger_now=danger,
    ),
    positions,
    st.sampled_from(["low", "medium", "high", "critical"]),
    st.sampled_from(["under_12", "12_17", "18_25", "26_plus", "unknown"]),
    st.sampled_from(["female", "male", "unknown"]),
    st.frozensets(st.sampled_from(["shelter", "medical", "legal", "psychosocial", "police"])),
    st.sampled_from(["fr", "bm", "en"]),
    st.booleans(),
    st.booleans(),
)
times = st.datetimes(datetime(2025, 1, 1), datetime(2025, 12, 31)).map(lambda d: d.replace(tzinfo=UTC))


def brute_force_ranked(case, providers, role_name, now):
    """Scan every provider: the eligible ones of the role within range, sorted by rank key."""
    role = RULES.roles[role_name]
    local = now.astimezone(RULES.zone)
    max_km = RULES.max_distance_for(role_name)
    found = []
    for p in providers:
        if not p.active or p.kind not in role.kinds:
            continue
        d = haversine_km(case.place.latitude, case.place.longitude, p.latitude, p.longitude)
        if d > max_km or check_eligibility(
            p, case, role, local_now=local, allow_unknown_capacity=RULES.allow_unknown_capacity
        ):
            continue
        found.append((rank_key(d, p), p.id))
    found.sort()
    return tuple(pid for _, pid in found[: max(RULES.escalation.max_providers_per_role, role.alert)])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(providers_strategy, cases, times)
def test_route_equals_brute_force(providers, case, now):
    """Every role's ranked list and chosen provider equal a brute-force scan of the directory."""
    decision = route(case, DirectoryIndex.build(providers), RULES, now=now)
    for outcome in decision.roles:
        if outcome.status in ("not_allowed",) or RULES.roles[outcome.role].kinds == ("national_desk",):
            continue
        expected = brute_force_ranked(case, providers, outcome.role, now)
        assert decision.ranked_for(outcome.role) == expected
        chosen = [r.provider_id for r in decision.referrals if not r.fallback and outcome.role in (r.role, *r.also_for)]
        assert chosen == list(expected[:1])


@settings(max_examples=200, deadline=None)
@given(
    providers_strategy,
    positions,
    st.sets(st.sampled_from(KINDS), min_size=1),
    st.one_of(st.just(math.inf), st.floats(1, 2000)),
)
def test_index_order_equals_sorting_everything(providers, position, kinds, max_km):
    """The index yields exactly the providers a full sort yields, in the same order."""
    index = DirectoryIndex.build(providers)
    got = [(round(d, 9), p.id) for d, p in index.nearest(*position, kinds, max_km=max_km)]
    expected = sorted(
        (rank_key(haversine_km(*position, p.latitude, p.longitude), p), p.id)
        for p in providers
        if p.kind in kinds and p.active
    )
    expected = [(round(k[0], 9), pid) for k, pid in expected if k[0] <= max_km]
    assert got == expected


def test_index_across_the_antimeridian():
    """Near the antimeridian the index still returns the truly nearest provider."""
    providers = [make_provider("east", lat=0.0, lon=179.9), make_provider("west", lat=0.0, lon=-170.0)]
    index = DirectoryIndex.build(providers)
    assert [p.id for _, p in index.nearest(0.0, -179.9, ["shelter"])] == ["east", "west"]


@settings(max_examples=150, deadline=None)
@given(
    providers_strategy,
    positions,
    st.sets(st.sampled_from(KINDS), min_size=1),
    st.floats(1, 800),
    st.sampled_from([0.02, 0.05, 0.1, 0.25, 1.0]),
)
def test_index_order_is_exact_for_every_cell_size(providers, position, kinds, max_km, cell):
    """With any cell size the index picks for dense directories, the order stays exact."""
    with patch.object(index_module, "CELL_SIZES", ((0, cell),)):
        index = DirectoryIndex.build(providers)
    got = [p.id for _, p in index.nearest(*position, kinds, max_km=max_km)]
    ranked = sorted(
        (rank_key(haversine_km(*position, p.latitude, p.longitude), p), p.id)
        for p in providers
        if p.kind in kinds and p.active
    )
    assert got == [pid for key, pid in ranked if key[0] <= max_km]


def test_cell_size_shrinks_as_a_kind_grows():
    """Larger directories get smaller cells, so a dense town's cells stay small."""
    sizes = [index_module.cell_degrees_for(n) for n in (10, 1_000, 5_000, 50_000)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
