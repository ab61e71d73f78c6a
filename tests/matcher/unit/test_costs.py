import math

import pytest

from services.matcher.domain.costs import haversine_km, price, transit_hours
from services.matcher.domain.model import Candidate, Parameters
from tests.matcher.unit.builders import factory, machine, order, step, window


def test_haversine_zero_for_the_same_point():
    assert haversine_km(39.93, 119.6, 39.93, 119.6) == 0.0


def test_one_degree_of_latitude_is_r_times_pi_over_180():
    assert haversine_km(0, 0, 1, 0) == pytest.approx(6371.0 * math.pi / 180, rel=1e-12)


def test_half_the_equator_is_pi_r():
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * 6371.0, rel=1e-12)


def test_haversine_is_symmetric_and_matches_a_known_distance():
    d = haversine_km(39.95, 119.58, 39.94, 119.55)
    assert d == pytest.approx(haversine_km(39.94, 119.55, 39.95, 119.58))
    # over 3 km the flat-earth (equirectangular) formula agrees to well under a metre
    dlat = math.radians(0.01)
    dlon = math.radians(0.03) * math.cos(math.radians(39.945))
    assert d == pytest.approx(6371.0 * math.hypot(dlat, dlon), abs=1e-4)
    assert d == pytest.approx(2.7887, abs=1e-4)


def test_price_is_machine_hours_plus_transport():
    c = Candidate(window(), machine(hourly_rate=180.0), factory())
    km = haversine_km(39.95, 119.58, 39.94, 119.55)
    assert price(step(hours=6.0), c, order(), Parameters(transport_cost_per_km=2.0)) == \
        pytest.approx(6 * 180.0 + 2.0 * km)


def test_transit_is_zero_within_a_factory_and_distance_over_speed_between_two():
    f1, f2 = factory("f1", lat=0, lon=0), factory("f2", lat=1, lon=0)
    a = Candidate(window("wa"), machine("ma", "f1"), f1)
    a2 = Candidate(window("wa2"), machine("ma2", "f1"), f1)
    b = Candidate(window("wb"), machine("mb", "f2"), f2)
    params = Parameters(speed_kmh=50.0)
    assert transit_hours(a, a2, params) == 0.0
    assert transit_hours(a, b, params) == pytest.approx(6371.0 * math.pi / 180 / 50.0)
