# Shared helpers for the Switchyard governance policies.
#
# Everything here reads the request (input, see docs/policy-contract.md) and
# the catalog data (data.switchyard.catalog, shipped in policies/data.json).
# Only builtins that run natively in OPA's WebAssembly runtime are used.
package switchyard.lib

catalog := data.switchyard.catalog

intent := object.get(input, "intent", {})

# Names of the services the intent drives (a service may carry several flags).
services contains s.service if some s in object.get(intent, "services", [])

known_services contains s if {
	some s in services
	catalog.services[s]
}

unknown_services := services - known_services

data_classes contains c if some c in object.get(intent, "data_access", [])

known_data_classes contains c if {
	some c in data_classes
	catalog.data_classes[c]
}

unknown_data_classes := data_classes - known_data_classes

tier(s) := catalog.services[s].tier

sensitivity(c) := catalog.data_classes[c].sensitivity

# Exposure cap (percent) of a known service, from its tier.
cap(s) := catalog.tier_caps[tier(s)]

known_caps contains cap(s) if some s in known_services

# Lowest cap among the intent's known services; 100 when none is known.
default max_exposure := 100

max_exposure := min(known_caps) if count(known_caps) > 0

# The known service that sets max_exposure (alphabetically first on a tie).
cap_service := min({s | some s in known_services; cap(s) == max_exposure})

# join(", ", sorted list of strings)
join(xs) := concat(", ", sort(xs))

# Human-readable number with at most two decimals, no trailing zeros:
# 4.5 -> "4.5", 10 -> "10", 0.05 -> "0.05". Works on non-negative numbers.
# (Avoids sprintf, which is not native in the wasm runtime.)
num(x) := format_int(hundredths(x) / 100, 10) if hundredths(x) % 100 == 0

num(x) := concat("", [format_int(floor(hundredths(x) / 100), 10), ".", decimals(hundredths(x) % 100)]) if {
	hundredths(x) % 100 != 0
}

hundredths(x) := round(x * 100)

decimals(d) := format_int(d / 10, 10) if d % 10 == 0

decimals(d) := concat("", ["0", format_int(d, 10)]) if d < 10

decimals(d) := format_int(d, 10) if {
	d % 10 != 0
	d >= 10
}

# Number as a percentage: 4.5 -> "4.5%".
pct(x) := concat("", [num(x), "%"])

# Decimal text of a non-negative integer of any size up to 10^18. The wasm
# runtime's format_int only handles 32-bit integers, so print in 9-digit chunks.
int_text(x) := format_int(x, 10) if x < 1000000000

int_text(x) := concat("", [format_int(floor(x / 1000000000), 10), pad9(format_int(x % 1000000000, 10))]) if {
	x >= 1000000000
}

pad9(s) := concat("", [substring("000000000", 0, 9 - count(s)), s])

# The intent's staged rollout (SPEC §10), {} when it has none.
rollout := object.get(intent, "rollout", {})

has_rollout if count(rollout) > 0

# The request asks to ship this variant to every unit (SPEC §10 "Ship"): "" otherwise.
ship := object.get(input, "ship", "")

shipping if ship != ""
