# audit: obligations attached to every decision: the approvals owed (by role)
# and the audit level. Rules live in data.switchyard.catalog.obligations.
# Unknown services and data classes carry no obligations.
package switchyard.audit

import data.switchyard.lib

rules := lib.catalog.obligations

# Every approval asked for, e.g. {"role": "sre", "count": 1}.
asked contains a if {
	some s in lib.known_services
	some a in object.get(rules.approvals.by_tier, lib.tier(s), [])
}

asked contains a if {
	some c in lib.known_data_classes
	some a in object.get(rules.approvals.by_sensitivity, lib.sensitivity(c), [])
}

roles := {a.role | some a in asked}

# One entry per role (the largest count asked), sorted by role.
approvals := [{"role": role, "count": max({a.count | some a in asked; a.role == role})} |
	some role in sort(roles)
]

full if {
	some s in lib.known_services
	lib.tier(s) in rules.audit.full_when.tiers
}

full if {
	some c in lib.known_data_classes
	lib.sensitivity(c) in rules.audit.full_when.sensitivities
}

audit := rules.audit.full if full

else := rules.audit.standard
