package switchyard.conflicts_test

import data.switchyard.fixtures_test.failing

web := {"service": "web", "flag": "f1"}

recs := {"service": "recommendations", "flag": "f5"}

# The room summary the server gives for a layer (docs/layers.md): reserved
# buckets, the largest free range, and a few of the largest members.
room(reserved, largest_free, largest, experiments) := {
	"layer": "checkout", "total": 10000, "reserved": reserved, "unplaced": 0,
	"largest_free": largest_free, "free_range_count": 1, "free_ranges": [],
	"experiments": experiments, "largest": largest,
}

member(key, exposure) := {"key": key, "status": "running", "exposure": exposure}

cases := {
	"no live experiments": {"want": {"allow": true, "codes": []}},
	"flag already driven by another experiment": {
		"live": {"flags": [{"key": "other-exp", "version": 2, "status": "running", "service": "web", "flag": "checkout_redesign"}]},
		"want": {"allow": false, "codes": ["flag_conflict"]},
		"violations": [{
			"code": "flag_conflict", "policy": "conflicts", "service": "web",
			"message": "flag checkout_redesign of service web is already driven by experiment other-exp (version 2, status running)",
		}],
	},
	"one violation per conflicting row": {
		"live": {"flags": [
			{"key": "a", "version": 1, "status": "pending_approval", "service": "web", "flag": "checkout_redesign"},
			{"key": "b", "version": 3, "status": "paused", "service": "checkout-api", "flag": "checkout_v2"},
		]},
		"want": {"codes": ["flag_conflict", "flag_conflict"]},
		"violations": [
			{"service": "web", "message_contains": "experiment a (version 1, status pending approval)"},
			{"service": "checkout-api", "message_contains": "experiment b (version 3, status paused)"},
		],
	},
	"row without version or status still conflicts": {
		"live": {"flags": [{"key": "z", "service": "web", "flag": "checkout_redesign"}]},
		"violations": [{"code": "flag_conflict", "message_contains": "experiment z (status unknown)"}],
	},
	"rows of the intent's own key are not conflicts": {
		"live": {"flags": [{"key": "checkout-redesign", "version": 1, "status": "approved", "service": "web", "flag": "checkout_redesign"}]},
		"want": {"allow": true},
	},
	"layer with room left": {
		"live": {"layer_room": room(4000, 6000, [member("other-exp", 40)], 1)},
		"want": {"allow": true},
	},
	"layer filled to exactly 100%": {
		"live": {"layer_room": room(9550, 450, [member("a", 95.5)], 1)},
		"want": {"allow": true},
	},
	"layer over 100% by 0.01": {
		"live": {"layer_room": room(9551, 449, [member("a", 95.51)], 1)},
		"want": {"allow": false, "codes": ["layer_capacity"]},
		"violations": [{
			"code": "layer_capacity", "policy": "conflicts",
			"message": "layer checkout would be at 100.01% exposure: other live experiments already use 95.51% (a 95.51%) and this intent asks for 4.5%",
		}],
	},
	"experiments without a reserved slice still count": {
		"live": {"layer_room": object.union(room(0, 10000, [member("a", 50), member("b", 46)], 2), {"unplaced": 9600})},
		"want": {"codes": ["layer_capacity"]},
		"violations": [{"message_contains": "already use 96% (a 50%, b 46%)"}],
	},
	"two decimals add up exactly (33.33 + 33.33 + 33.34)": {
		"intent": {"services": [web], "exposure": 33.34},
		"live": {"layer_room": room(6666, 3334, [member("a", 33.33), member("b", 33.33)], 2)},
		"want": {"allow": true},
	},
	"a thousand members: the message names the largest and counts the rest": {
		"intent": {"services": [recs], "exposure": 95},
		"live": {"layer_room": room(1003, 8997, [member("big", 2), member("tiny-0000", 0.01)], 1000)},
		"want": {"codes": ["layer_capacity"]},
		"violations": [{
			"code": "layer_capacity", "policy": "conflicts",
			"message": "layer checkout would be at 105.03% exposure: other live experiments already use 10.03% (big 2%, tiny-0000 0.01%, and 998 more) and this intent asks for 95%",
		}],
	},
	"fragmented layer: enough room in total but no contiguous range": {
		"intent": {"services": [web], "exposure": 15},
		"live": {"layer_room": room(8000, 1000, [member("a", 30), member("b", 30), member("c", 20)], 3)},
		"want": {"allow": false, "codes": ["layer_capacity"]},
		"violations": [{
			"code": "layer_capacity", "policy": "conflicts",
			"message": "layer checkout is fragmented: this intent needs a contiguous free range of 1500 buckets (15%) but the largest one left between the slices reserved by other experiments is 1000 buckets (10%)",
		}],
	},
	"fits the largest free range exactly": {
		"intent": {"services": [web], "exposure": 10},
		"live": {"layer_room": room(8000, 1000, [member("a", 30), member("b", 30), member("c", 20)], 3)},
		"want": {"allow": true},
	},
	"one bucket more than the largest free range": {
		"intent": {"services": [web], "exposure": 10.01},
		"live": {"layer_room": room(8000, 1000, [member("a", 30), member("b", 30), member("c", 20)], 3)},
		"want": {"codes": ["layer_capacity"]},
		"violations": [{"message_contains": "is fragmented"}],
	},
	"over capacity and fragmented: one violation, capacity message": {
		"intent": {"services": [web], "exposure": 25},
		"live": {"layer_room": room(8000, 1000, [member("a", 30), member("b", 30), member("c", 20)], 3)},
		"want": {"codes": ["layer_capacity"]},
		"violations": [{"message_contains": "would be at 105% exposure"}],
	},
	"an empty layer summary leaves the whole layer free": {
		"intent": {"services": [recs], "exposure": 100},
		"live": {"layer_room": room(0, 10000, [], 0)},
		"want": {"allow": true},
	},
	"no layer in the intent: no capacity check": {
		"drop": ["layer"],
		"live": {"layer_room": room(10000, 0, [member("a", 100)], 1)},
		"want": {"allow": true},
	},
}

test_conflict_cases if failing(cases) == set()
