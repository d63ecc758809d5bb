# Switchyard governance decision (entrypoint switchyard/decision).
# Output shape: docs/policy-contract.md.
package switchyard

import data.switchyard.audit
import data.switchyard.catalog_check
import data.switchyard.conflicts
import data.switchyard.data_access
import data.switchyard.exposure
import data.switchyard.lib
import data.switchyard.naming
import data.switchyard.rollout
import data.switchyard.schedule

all_violations := union({
	naming.violations,
	catalog_check.violations,
	exposure.violations,
	data_access.violations,
	conflicts.violations,
	schedule.violations,
	rollout.violations,
})

# Sorted by (code, service, data_class, message).
violations := [row[4] |
	some row in sort([[v.code, object.get(v, "service", ""), object.get(v, "data_class", ""), v.message, v] |
		some v in all_violations
	])
]

allow := count(violations) == 0

decision := {
	"allow": allow,
	"violations": violations,
	"obligations": {
		"approvals": audit.approvals,
		"audit": audit.audit,
	},
	"limits": {"max_exposure": lib.max_exposure},
}
