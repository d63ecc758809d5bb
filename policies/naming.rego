# naming: experiment keys follow the catalog's naming pattern.
package switchyard.naming

import data.switchyard.lib

naming := lib.catalog.naming

# Equivalent to `pattern` (^[a-z][a-z0-9-]{2,62}$), checked as a character class plus a length:
# the wasm runtime recompiles a regex on every evaluation, and the bounded repetition made that
# compile about half of the whole decision's time.
valid_key(key) if {
	regex.match(naming.charset, key)
	count(key) >= naming.min_length
	count(key) <= naming.max_length
}

violations contains v if {
	key := lib.intent.key
	not valid_key(key)
	v := {
		"code": "naming",
		"policy": "naming",
		"message": concat("", [
			"experiment key \"", key, "\" is not a valid name: use ",
			naming.description, " (pattern ", naming.pattern, ")",
		]),
	}
}
