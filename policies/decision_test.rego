package switchyard.decision_test

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

# The decision depends only on what the intent asks for, not on how the request
# lists it: the same services and data classes in another order, with other free
# text (description, variant values), give the same decision. Evaluating one
# input twice could never fail (OPA memoises a query); this can, e.g. if a rule
# takes its cap from the first listed service or echoes the listed order.
order_a := {
	"description": "first wording",
	"services": [
		{"service": "web", "flag": "checkout_redesign"},
		{"service": "checkout-api", "flag": "checkout_v2"},
		{"service": "zeta", "flag": "z"},
	],
	"data_access": ["clickstream", "purchase_history", "zz"],
	"exposure": 10,
}

order_b := {
	"description": "another wording entirely",
	"services": [
		{"service": "zeta", "flag": "z"},
		{"service": "checkout-api", "flag": "checkout_v2"},
		{"service": "web", "flag": "checkout_redesign"},
	],
	"data_access": ["zz", "purchase_history", "clickstream"],
	"exposure": 10,
	"variants": [
		{"key": "control", "weight": 50, "value": "off"},
		{"key": "treatment", "weight": 50, "value": "on"},
	],
}

test_decision_ignores_listing_order_and_free_text if {
	a := decide({"intent": order_a})

	# The case is not vacuous: it denies, owes two approvals and caps at the critical tier.
	a.allow == false
	[v.code | some v in a.violations] == ["max_exposure", "unknown_data_class", "unknown_service"]
	a.obligations.approvals == [{"role": "privacy", "count": 1}, {"role": "sre", "count": 1}]
	a.limits.max_exposure == 5
	decide({"intent": order_b}) == a
}

# ... while a field that matters does change it.
test_decision_follows_exposure if {
	decide({"intent": object.union(order_a, {"exposure": 5})}) != decide({"intent": order_a})
}
