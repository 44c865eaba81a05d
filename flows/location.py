"""The location question: region and cercle menus, or free text matched in a place directory.

Sub-steps live in the session's `loc` entry: {stage: "text" | "region" | "cercle" |
"choose", region, candidates, from_text, not_found}. An exact match goes on, an ambiguous
one asks to choose among the candidates, an unknown one falls back to the region menu.
"""

from __future__ import annotations

from typing import Any

from flows.answers import OptionMatcher
from flows.flow import CompiledNode
from flows.output import Output
from flows.places import PlaceDirectory, place_to_dict
from flows.textfold import normalize_answer


class LocationSteps:
    """Location handling for the engine's run object (mixed into it; uses its state)."""

    __slots__ = ()

    def location_reply(self, node: CompiledNode, raw: str, key: str) -> Output:
        st = self.st
        loc = st["loc"] or location_start(node, st["channel"])
        stage = loc["stage"]
        places = self.directory()
        lang = st["lang"]
        unknown_label = normalize_answer(self.text("location_unknown"))
        if stage == "text":
            if not key:
                return self.miss(node)
            if node.allow_unknown and key == unknown_label:
                return self.place_chosen(node, None)
            return self.place_from_text(node, places, raw)
        options = self.location_options(node, loc, places)
        index = None
        if key.isdigit():
            number = int(key)
            if 1 <= number <= len(options):
                index = number - 1
        else:
            matcher = OptionMatcher([{lang: _place_words(item, label, stage)}
                                     for item, label in options])
            index = matcher.match(key, lang)
        if index is None:
            if key and not key.isdigit() and stage in ("region", "cercle"):
                # A place name typed at a menu is still an answer worth matching.
                match = places.match(raw)
                if match.status == "exact":
                    return self.place_chosen(node, match.places[0])
                if match.status == "ambiguous":
                    return self.location_choose(node, match.places)
            return self.miss(node)
        item = options[index][0]
        if stage == "region":
            if item is None:
                return self.place_chosen(node, None)
            cercles = places.cercles(item.code)
            if not cercles:
                return self.place_chosen(node, item)
            st["loc"] = {**loc, "stage": "cercle", "region": item.code}
            st["page"] = 0
            st["misses"] = 0
            return self.show(node, "")
        if stage == "cercle":
            if item is None:
                region = next((r for r in places.regions() if r.code == loc["region"]), None)
                return self.place_chosen(node, region)
            return self.place_chosen(node, item)
        # choose among candidates
        if item is None:
            st["loc"] = {"stage": "region", "region": None, "candidates": None,
                         "from_text": True, "not_found": False}
            st["page"] = 0
            st["misses"] = 0
            return self.show(node, "")
        return self.place_chosen(node, item)

    def place_from_text(self, node: CompiledNode, places: PlaceDirectory, raw: str) -> Output:
        match = places.match(raw)
        if match.status == "exact" and match.places:
            return self.place_chosen(node, match.places[0])
        if match.status == "ambiguous" and match.places:
            return self.location_choose(node, match.places)
        st = self.st
        st["loc"] = {"stage": "region", "region": None, "candidates": None,
                     "from_text": True, "not_found": True}
        st["page"] = 0
        st["misses"] = 0
        return self.show(node, "")

    def location_choose(self, node: CompiledNode, found: list[Any]) -> Output:
        st = self.st
        prior = st["loc"] or {}
        st["loc"] = {"stage": "choose", "region": None,
                     "candidates": [place_to_dict(p) for p in found[:8]],
                     "from_text": prior.get("from_text", prior.get("stage") == "text"),
                     "not_found": False}
        st["page"] = 0
        st["misses"] = 0
        return self.show(node, "")

    def place_chosen(self, node: CompiledNode, place: Any) -> Output:
        if place is None:
            value = None
        elif isinstance(place, dict):
            value = dict(place)
        else:
            value = place_to_dict(place)
        self.st["loc"] = None
        return self.answered_place(node, value)

    def answered_place(self, node: CompiledNode, value: dict[str, Any] | None) -> Output:
        st = self.st
        self.undo = {"node": node.id, "page": 0, "vars": {}, "lang": st["lang"],
                     "hits": len(st["hits"]), "points": len(st["points"]),
                     "needs": len(st["needs"]), "loc": None,
                     "case_sent": st.get("case_sent", False)}
        st["history"].append(self.undo)
        st["answers"][node.id] = value["code"] if value else None
        self.set_var(node.save_as, value)
        self.changed()
        return self.advance(node.next, node.id)

    def location_options(self, node: CompiledNode, loc: dict[str, Any],
                         places: PlaceDirectory) -> list[tuple[Any, str]]:
        stage = loc["stage"]
        if stage == "region":
            items = [(p, p.name) for p in places.regions()]
            if node.allow_unknown:
                items.append((None, self.text("location_unknown")))
            return items
        if stage == "cercle":
            items = [(p, p.name) for p in places.cercles(loc["region"])]
            if node.allow_unknown:
                items.append((None, self.text("location_unknown")))
            return items
        if stage == "choose":
            items = [(c, f"{c['name']} ({c['region_name']})" if c["name"] != c["region_name"]
                      else c["name"]) for c in loc["candidates"] or []]
            items.append((None, self.text("location_none")))
            return items
        return []



def location_start(node: CompiledNode, channel: str) -> dict[str, Any]:
    """Return the first location sub-step for `channel` (free text or the region menu)."""
    mode = node.ask.get(channel, "menu")
    return {"stage": "text" if mode == "text" else "region", "region": None,
            "candidates": None, "from_text": mode == "text", "not_found": False}


def location_back(loc: dict[str, Any], node: CompiledNode,
                   channel: str) -> dict[str, Any] | None:
    """Return the previous location sub-step, or None when back leaves the node."""
    stage = loc["stage"]
    if stage == "cercle":
        return {**loc, "stage": "region", "region": None}
    if stage in ("choose", "region") and loc.get("from_text"):
        return {"stage": "text", "region": None, "candidates": None, "from_text": True,
                "not_found": False}
    return None


def _place_words(item: Any, label: str, stage: str) -> list[str]:
    """Return the words that choose a place option (label, name; region when choosing)."""
    # Candidates of one name differ by the region shown in brackets: "Koulikoro" picks
    # "Faladié (Koulikoro)". A region shared by two candidates stays ambiguous.
    words = [label, _place_name(item)]
    if stage == "choose" and isinstance(item, dict) and item.get("region_name"):
        words.append(str(item["region_name"]))
    return words


def _place_name(item: Any) -> str:
    if item is None:
        return ""
    return str(item["name"] if isinstance(item, dict) else item.name)
