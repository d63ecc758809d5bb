# rollout: a staged rollout's guardrails must name metrics of the metric
# catalog, and a rollout that touches a service of a tier listed in
# catalog.rollout.required_guardrails must guard those metrics (SPEC §10).
# Caps and layer capacity are judged on the intent's exposure, which is the
# final stage's, by the other rules.
package switchyard.rollout

import data.switchyard.lib

guarded contains g.metric if some g in object.get(lib.rollout, "guardrails", [])

violations contains v if {
	some m in guarded
	not lib.catalog.metrics[m]
	v := {
		"code": "unknown_metric",
		"policy": "rollout",
		"message": concat("", ["guardrail metric ", m, " is not in the metric catalog"]),
	}
}

violations contains v if {
	lib.has_rollout
	some s in lib.known_services
	some m in object.get(lib.catalog.rollout.required_guardrails, lib.tier(s), [])
	not m in guarded
	v := {
		"code": "guardrail_required",
		"policy": "rollout",
		"service": s,
		"message": concat("", [
			"a rollout that touches ", lib.tier(s), " service ", s,
			" must guard ", m,
		]),
	}
}
