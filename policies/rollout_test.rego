package switchyard.rollout_test

import data.switchyard.fixtures_test.failing

web := {"service": "web", "flag": "f1"}

guard(ms) := [{"metric": m, "max_regression": 0.1} | some m in ms]

staged(ms) := {"stages": [{"exposure": 1, "hold": "PT1H"}, {"exposure": 4.5, "hold": "PT0S"}], "guardrails": guard(ms), "auto_advance": false}

cases := {
	"critical service, rollout guarding error_rate": {
		"intent": {"rollout": staged(["error_rate", "latency_ms"])},
		"want": {"allow": true, "codes": []},
	},
	"critical service, rollout without any guardrail": {
		"intent": {"rollout": staged([])},
		"want": {"allow": false, "codes": ["guardrail_required"]},
		"violations": [{
			"code": "guardrail_required", "policy": "rollout", "service": "checkout-api",
			"message": "a rollout that touches critical service checkout-api must guard error_rate",
		}],
	},
	"critical service, rollout guarding only latency": {
		"intent": {"rollout": staged(["latency_ms"])},
		"want": {"allow": false, "codes": ["guardrail_required"]},
	},
	"two critical services: one violation each": {
		"intent": {
			"services": [{"service": "checkout-api", "flag": "a"}, {"service": "payments", "flag": "b"}],
			"data_access": [], "rollout": staged(["conversion"]),
		},
		"want": {"codes": ["guardrail_required", "guardrail_required"]},
		"violations": [{"service": "checkout-api"}, {"service": "payments"}],
	},
	"critical service without a rollout: no guardrail asked": {
		"intent": {},
		"want": {"allow": true, "codes": []},
	},
	"standard service, rollout without guardrails": {
		"intent": {"services": [web], "rollout": staged([])},
		"want": {"allow": true, "codes": []},
	},
	"unknown metric": {
		"intent": {"services": [web], "rollout": staged(["error_rate", "happiness"])},
		"want": {"allow": false, "codes": ["unknown_metric"]},
		"violations": [{
			"code": "unknown_metric", "policy": "rollout",
			"message": "guardrail metric happiness is not in the metric catalog",
		}],
	},
	"every catalog metric is known": {
		"intent": {"services": [web], "rollout": staged(["error_rate", "latency_ms", "conversion"])},
		"want": {"allow": true},
	},
	"caps are judged on the final exposure, not the first stage": {
		"intent": {
			"exposure": 6,
			"rollout": {"stages": [{"exposure": 1}, {"exposure": 6}], "guardrails": guard(["error_rate"])},
		},
		"want": {"allow": false, "codes": ["max_exposure"]},
	},
	"a ship is exempt from the tier caps": {
		"intent": {"exposure": 6},
		"extra_input": {"ship": "treatment"},
		"want": {"allow": true, "codes": [], "max_exposure": 5},
	},
	"a ship asks the same approvals as the intent": {
		"intent": {"data_access": ["purchase_history"]},
		"extra_input": {"ship": "treatment"},
		"want": {"allow": true, "approvals": [{"role": "privacy", "count": 1}, {"role": "sre", "count": 1}]},
	},
	"a ship of a rollout still needs its guardrail": {
		"intent": {"rollout": staged([])},
		"extra_input": {"ship": "treatment"},
		"want": {"allow": false, "codes": ["guardrail_required"]},
	},
	"an empty ship field is no ship": {
		"intent": {"exposure": 6},
		"extra_input": {"ship": ""},
		"want": {"allow": false, "codes": ["max_exposure"]},
	},
}

test_rollout_cases if failing(cases) == set()

test_metric_catalog if {
	data.switchyard.catalog.metrics == {
		"error_rate": {"type": "binary", "better": "lower"},
		"latency_ms": {"type": "mean", "better": "lower"},
		"conversion": {"type": "binary", "better": "higher"},
	}
}
