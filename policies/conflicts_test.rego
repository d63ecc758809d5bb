package switchyard.conflicts_test

import data.switchyard.fixtures_test.failing

web := {"service": "web", "flag": "f1"}

recs := {"service": "recommendations", "flag": "f5"}

# A live experiment in the layer, with or without a reserved [start, end) slice.
row(key, exposure) := {"key": key, "version": 1, "status": "running", "exposure": exposure}

slice(key, exposure, start, end) := object.union(row(key, exposure), {"start": start, "end": end})

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
		"live": {"layer": [slice("other-exp", 40, 0, 4000)]},
		"want": {"allow": true},
	},
	"layer filled to exactly 100%": {
		"live": {"layer": [slice("a", 95.5, 0, 9550)]},
		"want": {"allow": true},
	},
	"layer over 100% by 0.01": {
		"live": {"layer": [slice("a", 95.51, 0, 9551)]},
		"want": {"allow": false, "codes": ["layer_capacity"]},
		"violations": [{
			"code": "layer_capacity", "policy": "conflicts",
			"message": "layer checkout would be at 100.01% exposure: other live experiments already use 95.51% (a 95.51%) and this intent asks for 4.5%",
		}],
	},
	"experiments without a reserved slice still count": {
		"live": {"layer": [row("a", 50), row("b", 46)]},
		"want": {"codes": ["layer_capacity"]},
	},
	"two decimals add up exactly (33.33 + 33.33 + 33.34)": {
		"intent": {"services": [web], "exposure": 33.34},
		"live": {"layer": [slice("a", 33.33, 0, 3333), slice("b", 33.33, 3333, 6666)]},
		"want": {"allow": true},
	},
	"several versions of one experiment count once, by their largest exposure": {
		"intent": {"services": [web], "exposure": 4.5},
		"live": {"layer": [
			row("a", 60), object.union(row("a", 40), {"version": 2}),
			row("b", 35.5),
		]},
		"want": {"allow": true},
	},
	"largest version exposure is the one counted": {
		"intent": {"services": [web], "exposure": 4.5},
		"live": {"layer": [
			object.union(row("a", 40), {"version": 2}), row("a", 60),
			row("b", 35.51),
		]},
		"want": {"codes": ["layer_capacity"]},
		"violations": [{"message_contains": "(a 60%, b 35.51%)"}],
	},
	"fragmented layer: enough room in total but no contiguous range": {
		"intent": {"services": [web], "exposure": 15},
		"live": {"layer": [slice("a", 30, 0, 3000), slice("b", 30, 4000, 7000), slice("c", 20, 8000, 10000)]},
		"want": {"allow": false, "codes": ["layer_capacity"]},
		"violations": [{
			"code": "layer_capacity", "policy": "conflicts",
			"message": "layer checkout is fragmented: this intent needs a contiguous free range of 1500 buckets (15%) but the largest one left between the slices reserved by other experiments is 1000 buckets (10%)",
		}],
	},
	"fits a gap exactly": {
		"intent": {"services": [web], "exposure": 10},
		"live": {"layer": [slice("a", 30, 0, 3000), slice("b", 30, 4000, 7000), slice("c", 20, 8000, 10000)]},
		"want": {"allow": true},
	},
	"free range at the start of the layer": {
		"intent": {"services": [recs], "exposure": 10},
		"live": {"layer": [slice("a", 90, 1000, 10000)]},
		"want": {"allow": true},
	},
	"free range at the end of the layer": {
		"intent": {"services": [recs], "exposure": 10},
		"live": {"layer": [slice("a", 45, 0, 4500), slice("b", 45, 4500, 9000)]},
		"want": {"allow": true},
	},
	"overlapping slices are handled": {
		"intent": {"services": [web], "exposure": 5},
		"live": {"layer": [slice("a", 50, 0, 5000), slice("b", 40, 2000, 6000)]},
		"want": {"allow": true},
	},
	"over capacity and fragmented: one violation, capacity message": {
		"intent": {"services": [web], "exposure": 25},
		"live": {"layer": [slice("a", 30, 0, 3000), slice("b", 30, 4000, 7000), slice("c", 20, 8000, 10000)]},
		"want": {"codes": ["layer_capacity"]},
		"violations": [{"message_contains": "would be at 105% exposure"}],
	},
	"no layer in the intent: no capacity check": {
		"drop": ["layer"],
		"live": {"layer": [row("a", 100)]},
		"want": {"allow": true},
	},
}

test_conflict_cases if failing(cases) == set()
