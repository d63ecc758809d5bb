package switchyard.decision_test

import data.switchyard.fixtures_test.build
import data.switchyard.fixtures_test.decide

# SPEC §3 example: the SPEC §2 intent is allowed, owes an sre approval.
test_spec_example_exact_output if {
	decide({}) == {
		"allow": true,
		"violations": [],
		"obligations": {
			"approvals": [{"role": "sre", "count": 1}],
			"audit": {"level": "full", "retention_days": 400},
		},
		"limits": {"max_exposure": 5},
	}
}

# Contract example input (docs/policy-contract.md): web only, conflicting flag,
# 40% already in the layer.
test_contract_example_input if {
	d := decide({
		"intent": {"services": [{"service": "web", "flag": "checkout_redesign"}]},
		"live": {
			"flags": [{"key": "other-exp", "version": 2, "status": "running", "service": "web", "flag": "checkout_redesign"}],
			"layer_room": {
				"layer": "checkout", "total": 10000, "reserved": 4000, "unplaced": 0, "largest_free": 6000,
				"free_range_count": 1, "free_ranges": [{"start": 4000, "end": 10000}],
				"experiments": 1, "largest": [{"key": "other-exp", "status": "running", "exposure": 40}],
			},
		},
	})
	d.allow == false
	[v.code | some v in d.violations] == ["flag_conflict"]
	d.limits == {"max_exposure": 50}
	d.obligations == {"approvals": [], "audit": {"level": "standard", "retention_days": 90}}
}

many_violations := decide({
	"intent": {
		"key": "Bad_Key",
		"exposure": 10,
		"services": [
			{"service": "web", "flag": "a"},
			{"service": "zeta", "flag": "b"},
			{"service": "alpha", "flag": "c"},
			{"service": "checkout-api", "flag": "d"},
		],
		"data_access": ["query_logs", "zz", "contact_info", "aa"],
	},
	"live": {"flags": [
		{"key": "x", "version": 1, "status": "running", "service": "web", "flag": "a"},
		{"key": "y", "version": 1, "status": "running", "service": "checkout-api", "flag": "d"},
	]},
})

# Sorted by (code, service, data_class, message).
test_violations_are_sorted if {
	[[v.code, object.get(v, "service", ""), object.get(v, "data_class", "")] | some v in many_violations.violations] == [
		["data_access", "", "contact_info"],
		["data_access", "", "contact_info"],
		["data_access", "", "query_logs"],
		["flag_conflict", "checkout-api", ""],
		["flag_conflict", "web", ""],
		["max_exposure", "checkout-api", ""],
		["naming", "", ""],
		["unknown_data_class", "", "aa"],
		["unknown_data_class", "", "zz"],
		["unknown_service", "alpha", ""],
		["unknown_service", "zeta", ""],
	]
	messages := [v.message | some v in many_violations.violations]
	messages[0] < messages[1]
}

test_violation_shape if {
	every v in many_violations.violations {
		{k | some k, _ in v} - {"code", "policy", "message", "service", "data_class"} == set()
		is_string(v.message)
		v.policy in {"naming", "catalog", "exposure", "data_access", "conflicts", "schedule"}
	}
}

test_denied_iff_violations if {
	many_violations.allow == false
	count(many_violations.violations) > 0
	decide({}).allow == true
}

# Same input, same output: the decision depends only on input and data.
test_deterministic if {
	a := data.switchyard.decision with input as build({"intent": {"exposure": 10}})
	b := data.switchyard.decision with input as build({"intent": {"exposure": 10}})
	a == b
}
