"""Dispatch ranking as data: how specific a coverage is, the distance on the globe, and
how a candidate's reason reads. No ORM here: the work order's ranking query
(service.dispatch.work.order._dispatch_candidates) does the same in SQL, and the tests
check both against these helpers.

Ranking order: coverage level (postcode > district > city > region; outlets covering
nothing last), then distance (unknown last), then open workload, then id.
"""

import math

# Least to most specific, as service.dispatch.service.area's AREA_LEVELS: the position
# (1-based) is the level's rank in the query (array_position).
LEVELS = ("region", "city", "district", "postcode")
EARTH_RADIUS_KM = 6371.0088
REASON_SEPARATOR = " · "


def level_rank(level):
    """1 (region) .. 4 (postcode); 0 when the outlet covers nothing."""
    return LEVELS.index(level) + 1 if level in LEVELS else 0


def has_coordinates(latitude, longitude):
    """Odoo stores unknown coordinates as 0/0 (base_geolocalize)."""
    return bool(latitude or longitude)


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def sort_key(candidate):
    """The ranking order of a candidate dict (level, distance_km, workload, outlet_id)."""
    distance = candidate.get("distance_km")
    return (
        -level_rank(candidate.get("level")),
        distance is None or distance is False,
        distance or 0.0,
        candidate.get("workload", 0),
        candidate["outlet_id"],
    )


def join_reason(parts):
    """One line of the reason parts that are set: "Covers … · 3.2 km · 4 open orders"."""
    return REASON_SEPARATOR.join(part for part in parts if part)
