# exposure: the intent's exposure may not exceed the lowest tier cap among its
# known services (limits.max_exposure in the decision). A ship (input.ship, SPEC §10)
# ends the experiment by serving one variant to every unit: it is exempt.
package switchyard.exposure

import data.switchyard.lib

violations contains v if {
	exposure := lib.intent.exposure
	exposure > lib.max_exposure
	not lib.shipping
	s := lib.cap_service
	v := {
		"code": "max_exposure",
		"policy": "exposure",
		"service": s,
		"message": concat("", [
			"exposure ", lib.pct(exposure), " is above the ", lib.pct(lib.max_exposure),
			" cap of ", lib.tier(s), " service ", s,
		]),
	}
}
