# conflicts: another live experiment already drives one of the intent's
# (service, flag) pairs, or the intent's layer has no room left for it.
#
# input.live.flags / input.live.layer are filled by the server with live
# versions of *other* experiments (docs/policy-contract.md).
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

other_layer_rows := [row |
	some row in object.get(live, "layer", [])
	row.key != lib.intent.key
]

# flag_conflict: one violation per conflicting row.
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

layer := lib.intent.layer

wanted := round(lib.intent.exposure * 100)

other_keys := {row.key | some row in other_layer_rows}

# Exposure of each other experiment in the layer, in buckets (largest of its versions).
other_buckets[k] := max({round(row.exposure * 100) | some row in other_layer_rows; row.key == k}) if {
	some k in other_keys
}

used_buckets := sum([b | some b in other_buckets])

over_capacity if used_buckets + wanted > layer_buckets

# Reserved [start, end) slices (rows without start/end reserve nothing yet).
slices := [[row.start, row.end] |
	some row in other_layer_rows
	is_number(row.start)
	is_number(row.end)
	row.end > row.start
]

# A free range can only begin at 0 or where a reserved slice ends (first fit
# would pick the lowest such start); it runs up to the next slice start.
free_starts contains 0

free_starts contains s[1] if some s in slices

free_range[a] := min({b | some s in slices; b := s[0]; b >= a} | {layer_buckets}) - a if {
	some a in free_starts
	a < layer_buckets
	not inside_slice(a)
}

inside_slice(a) if {
	some s in slices
	s[0] <= a
	a < s[1]
}

largest_free := max({n | some n in free_range} | {0})

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

others_text := concat(", ", [concat(" ", [k, lib.pct(other_buckets[k] / 100)]) | some k in sort(other_keys)])
