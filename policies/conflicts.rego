# conflicts: another live experiment already drives one of the intent's
# (service, flag) pairs, or the intent's layer has no room left for it.
#
# input.live.flags (claims on the intent's own (service, flag) pairs) and
# input.live.layer_room (a bounded summary of the intent's layer) are filled
# by the server from live versions of *other* experiments
# (docs/policy-contract.md, docs/layers.md).
package switchyard.conflicts

import data.switchyard.lib

# Total buckets of a layer; exposure x% takes round(x * 100) of them.
layer_buckets := 10000

default live := {}

live := input.live

other_flags := [row |
	some row in object.get(live, "flags", [])
	row.key != lib.intent.key
]

violations contains v if {
	some row in other_flags
	v := {
		"code": "flag_conflict",
		"policy": "conflicts",
		"service": row.service,
		"message": concat("", [
			"flag ", row.flag, " of service ", row.service,
			" is already driven by experiment ", row.key,
			" (", version_text(row), "status ", status_text(object.get(row, "status", null)), ")",
		]),
	}
}

version_text(row) := concat("", ["version ", lib.num(row.version), ", "]) if is_number(row.version)

else := ""

status_text(s) := replace(s, "_", " ") if is_string(s)

else := "unknown"

# --- layer_capacity -------------------------------------------------------
#
# input.live.layer_room is a bounded summary of the room other live
# experiments leave in the intent's layer (docs/layers.md): the server's
# first-fit allocator places an intent exactly when its buckets fit in the
# largest free range, so this rule denies exactly then too.

layer := lib.intent.layer

wanted := round(lib.intent.exposure * 100)

default room := {}

room := live.layer_room if is_object(live.layer_room)

total := object.get(room, "total", layer_buckets)

# Buckets other live experiments hold (reserved slices) or ask without a slice yet.
used_buckets := object.get(room, "reserved", 0) + object.get(room, "unplaced", 0)

largest_free := object.get(room, "largest_free", total)

over_capacity if used_buckets + wanted > total

fragmented if largest_free < wanted

violations contains v if {
	layer
	over_capacity
	v := {
		"code": "layer_capacity",
		"policy": "conflicts",
		"message": concat("", [
			"layer ", layer, " would be at ", lib.pct((used_buckets + wanted) / 100),
			" exposure: other live experiments already use ", lib.pct(used_buckets / 100),
			" (", others_text, ") and this intent asks for ", lib.pct(lib.intent.exposure),
		]),
	}
}

violations contains v if {
	layer
	not over_capacity
	fragmented
	v := {
		"code": "layer_capacity",
		"policy": "conflicts",
		"message": concat("", [
			"layer ", layer, " is fragmented: this intent needs a contiguous free range of ",
			format_int(wanted, 10), " buckets (", lib.pct(lib.intent.exposure),
			") but the largest one left between the slices reserved by other experiments is ",
			format_int(largest_free, 10), " buckets (", lib.pct(largest_free / 100), ")",
		]),
	}
}

# The largest other experiments (the server lists a few, largest first), then how many more.
listed := [concat(" ", [m.key, lib.pct(m.exposure)]) | some m in object.get(room, "largest", [])]

unlisted := object.get(room, "experiments", count(listed)) - count(listed)

others_text := concat(", ", listed) if unlisted <= 0

else := concat("", [concat(", ", listed), ", and ", format_int(unlisted, 10), " more"])
