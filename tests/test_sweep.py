"""/api/blocks/{kind}/sweep: costs against the group count at fixed channels and at fixed multiply-adds."""

from app.cache import sizes


def test_sweep_fixed_channels_matches_single_analyses(client):
    r = client.get("/api/blocks/group_conv/sweep?in_channels=24&out_channels=36&groups=3&height=7&width=7")
    assert r.status_code == 200
    sw = r.json()
    assert sw["param"] == "groups" and sw["current"] == 3
    assert [p["g"] for p in sw["fixed_channels"]] == [1, 2, 3, 4, 6, 12]  # divisors of gcd(24, 36)
    for p in sw["fixed_channels"]:
        one = client.get("/api/blocks/group_conv", params={
            "in_channels": 24, "out_channels": 36, "groups": p["g"], "height": 7, "width": 7}).json()
        keys = ("params", "madds", "mac")
        assert {k: p[k] for k in keys} == {k: one["totals"][k] for k in keys}
        # 3x3 conv, padding 1: multiply-adds = 49 * 36 * (24 / g) * 9
        assert p["madds"] == 49 * 36 * (24 // p["g"]) * 9


def test_sweep_fixed_madds_holds_multiply_adds_and_shows_mac_rising(client):
    sw = client.get("/api/blocks/group_conv/sweep?kernel_size=1").json()
    target = sw["fixed_madds"]["target_madds"]
    points = sw["fixed_madds"]["points"]
    assert [p["g"] for p in points] == [1, 2, 4, 8, 16, 32]
    for p in points:
        assert abs(p["madds"] - target) / target < 0.15
        c = p["channels"]["in_channels"]
        assert c % p["g"] == 0
        # ShuffleNet V2 eq. (2) for a 1x1 group conv plus BN and ReLU on its output
        hw = 56 * 56
        conv_mac = hw * (c + c) + c * c // p["g"]
        assert p["mac"] == conv_mac + (2 * hw * c + 2 * c) + 2 * hw * c
    macs = [p["mac"] for p in points]
    assert macs == sorted(macs)  # G2: more groups at equal multiply-adds cost more memory traffic


def test_sweep_refusals(client):
    assert client.get("/api/blocks/conv/sweep").status_code == 404
    r = client.get("/api/blocks/group_conv/sweep?groups=5")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "groups"]
    assert client.get("/api/blocks/channel_shuffle/sweep").json()["fixed_madds"]["points"] == []


def test_sweeps_are_kept_in_their_own_bounded_cache(client, configure):
    c = configure(sweep_cache=2)
    for groups in (1, 2, 4):
        assert c.get(f"/api/blocks/group_conv/sweep?groups={groups}").status_code == 200
    assert sizes()["sweeps"] == 2
