# Test fixtures and the table runner shared by the *_test.rego files.
#
# A case is an object:
#   "intent":      fields merged into the base intent (lists replace lists)
#   "drop":        intent fields to remove (e.g. ["layer", "schedule"])
#   "now_ms", "schedule_ms", "live": replace the base values ("live.flags" defaults to [],
#                  "live.layer_room" to null)
#   "extra_input": further top-level input fields (e.g. {"ship": "treatment"})
#   "want":        expected summary fields: allow, codes (sorted violation codes),
#                  approvals ([{role, count}]), audit (level), retention_days, max_exposure
#   "violations":  violations that must be present, as partial objects; the key
#                  "message_contains" matches a substring of the message
#
# When a table test fails, rerun with `opa test policies -v --var-values` to see
# the names of the failing cases.
package switchyard.fixtures_test

# SPEC §2 example intent.
base_intent := {
	"key": "checkout-redesign",
	"owner": "growth",
	"description": "New one-page checkout",
	"unit": "user_id",
	"services": [
		{"service": "web", "flag": "checkout_redesign"},
		{"service": "checkout-api", "flag": "checkout_v2"},
	],
	"variants": [
		{"key": "control", "weight": 50, "value": false},
		{"key": "treatment", "weight": 50, "value": true, "overrides": {"checkout-api": "v2"}},
	],
	"exposure": 4.5,
	"audience": [{"attribute": "locale", "op": "in", "values": ["en-US", "en-GB"]}],
	"layer": "checkout",
	"data_access": ["clickstream"],
	"schedule": {"start": "2026-12-01T00:00:00Z", "end": "2026-12-31T00:00:00Z"},
}

now_ms := 1795000000000

day_ms := 86400000

# 2026-12-01T00:00:00Z and 2026-12-31T00:00:00Z
base_schedule_ms := {"start": 1796083200000, "end": 1798675200000}

build(c) := object.union(object.get(c, "extra_input", {}), {
	"intent": object.remove(object.union(base_intent, object.get(c, "intent", {})), object.get(c, "drop", [])),
	"actor": {"name": "alice", "role": "owner", "team": "growth"},
	"now_ms": object.get(c, "now_ms", now_ms),
	"schedule_ms": object.get(c, "schedule_ms", base_schedule_ms),
	"live": object.union({"flags": [], "layer_room": null}, object.get(c, "live", {})),
})

decide(c) := d if {
	d := data.switchyard.decision with input as build(c)
}

summary(d) := {
	"allow": d.allow,
	"codes": [v.code | some v in d.violations],
	"approvals": d.obligations.approvals,
	"audit": d.obligations.audit.level,
	"retention_days": d.obligations.audit.retention_days,
	"max_exposure": d.limits.max_exposure,
}

passes(c) if {
	d := decide(c)
	s := summary(d)
	every k, w in object.get(c, "want", {}) {
		s[k] == w
	}
	every pv in object.get(c, "violations", []) {
		some v in d.violations
		matches(v, pv)
	}
}

matches(v, pv) if {
	every k, w in pv {
		field_matches(v, k, w)
	}
}

field_matches(v, "message_contains", w) if contains(v.message, w)

field_matches(v, k, w) if {
	k != "message_contains"
	v[k] == w
}

# Names of the cases of a table that do not pass.
failing(cases) := {name | some name, c in cases; not passes(c)}
