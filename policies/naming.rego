# naming: experiment keys follow the catalog's naming pattern.
package switchyard.naming

import data.switchyard.lib

naming := lib.catalog.naming

violations contains v if {
	key := lib.intent.key
	not regex.match(naming.pattern, key)
	v := {
		"code": "naming",
		"policy": "naming",
		"message": concat("", [
			"experiment key \"", key, "\" is not a valid name: use ",
			naming.description, " (pattern ", naming.pattern, ")",
		]),
	}
}
