# schedule: the end must come after the start, must not be in the past, and
# the experiment may not run longer than the catalog's maximum (90 days).
#
# Times come from the server as epoch milliseconds (input.now_ms,
# input.schedule_ms.start/end); the policy never parses time. The ISO texts of
# intent.schedule are only echoed in messages.
package switchyard.schedule

import data.switchyard.lib

day_ms := 86400000

max_days := lib.catalog.schedule.max_days

default sched := {}

sched := input.schedule_ms

now := input.now_ms

# ISO text of a schedule bound for messages, e.g. "2026-12-31T00:00:00Z".
text(bound) := t if {
	t := lib.intent.schedule[bound]
}

else := concat("", [lib.int_text(sched[bound]), " ms"])

violations contains v if {
	sched.end <= sched.start
	v := {
		"code": "schedule",
		"policy": "schedule",
		"message": concat("", ["schedule end ", text("end"), " is not after its start ", text("start")]),
	}
}

violations contains v if {
	sched.end <= now
	v := {
		"code": "schedule",
		"policy": "schedule",
		"message": concat("", ["schedule end ", text("end"), " is already in the past"]),
	}
}

violations contains v if {
	sched.end - sched.start > max_days * day_ms
	v := {
		"code": "schedule",
		"policy": "schedule",
		"message": concat("", [
			"schedule from ", text("start"), " to ", text("end"), " lasts ",
			days(sched.end - sched.start), " days, longer than the ", lib.num(max_days), "-day maximum",
		]),
	}
}

violations contains v if {
	not sched.start
	sched.end - now > max_days * day_ms
	v := {
		"code": "schedule",
		"policy": "schedule",
		"message": concat("", [
			"schedule ends ", text("end"), ", ", days(sched.end - now),
			" days from now, longer than the ", lib.num(max_days), "-day maximum",
		]),
	}
}

# Duration in days, rounded up to two decimals (so 90 days + 1 ms reads 90.01).
days(ms) := lib.num(ceil((ms * 100) / day_ms) / 100)
