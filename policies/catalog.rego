# catalog: every service and data class the intent names must be in the catalog.
# (Package name differs from the data path data.switchyard.catalog on purpose.)
package switchyard.catalog_check

import data.switchyard.lib

violations contains v if {
	some s in lib.unknown_services
	v := {
		"code": "unknown_service",
		"policy": "catalog",
		"service": s,
		"message": concat("", ["service ", s, " is not in the service catalog"]),
	}
}

violations contains v if {
	some c in lib.unknown_data_classes
	v := {
		"code": "unknown_data_class",
		"policy": "catalog",
		"data_class": c,
		"message": concat("", ["data class ", c, " is not in the data catalog"]),
	}
}
