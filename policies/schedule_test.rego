package switchyard.schedule_test

import data.switchyard.fixtures_test.day_ms
import data.switchyard.fixtures_test.failing
import data.switchyard.fixtures_test.now_ms

start := now_ms + day_ms

cases := {
	"spec example schedule": {"want": {"allow": true, "codes": []}},
	"no schedule": {"drop": ["schedule"], "schedule_ms": {}, "want": {"allow": true}},
	"only a start": {"schedule_ms": {"start": start}, "want": {"allow": true}},
	"end equal to start": {
		"schedule_ms": {"start": start, "end": start},
		"want": {"allow": false, "codes": ["schedule"]},
		"violations": [{
			"code": "schedule", "policy": "schedule",
			"message": "schedule end 2026-12-31T00:00:00Z is not after its start 2026-12-01T00:00:00Z",
		}],
	},
	"end before start": {
		"schedule_ms": {"start": start, "end": start - 1},
		"want": {"codes": ["schedule"]},
		"violations": [{"message_contains": "is not after its start"}],
	},
	"end equal to now is in the past": {
		"schedule_ms": {"start": now_ms - day_ms, "end": now_ms},
		"want": {"codes": ["schedule"]},
		"violations": [{"message": "schedule end 2026-12-31T00:00:00Z is already in the past"}],
	},
	"end one ms after now": {"schedule_ms": {"start": now_ms - day_ms, "end": now_ms + 1}, "want": {"allow": true}},
	"end before start and in the past: two violations": {
		"schedule_ms": {"start": now_ms, "end": now_ms - 1},
		"want": {"codes": ["schedule", "schedule"]},
	},
	"exactly 90 days": {"schedule_ms": {"start": start, "end": start + (90 * day_ms)}, "want": {"allow": true}},
	"90 days and 1 ms": {
		"schedule_ms": {"start": start, "end": (start + (90 * day_ms)) + 1},
		"want": {"codes": ["schedule"]},
		"violations": [{"message": "schedule from 2026-12-01T00:00:00Z to 2026-12-31T00:00:00Z lasts 90.01 days, longer than the 90-day maximum"}],
	},
	"91 days": {
		"schedule_ms": {"start": start, "end": start + (91 * day_ms)},
		"violations": [{"message_contains": "lasts 91 days"}],
	},
	"no start: exactly 90 days from now": {
		"drop": ["schedule"],
		"schedule_ms": {"end": now_ms + (90 * day_ms)},
		"want": {"allow": true},
	},
	"no start: 90 days and 1 ms from now": {
		"drop": ["schedule"],
		"schedule_ms": {"end": (now_ms + (90 * day_ms)) + 1},
		"want": {"codes": ["schedule"]},
		"violations": [{"message_contains": "90.01 days from now, longer than the 90-day maximum"}],
	},
	"without ISO texts the message shows epoch milliseconds": {
		"drop": ["schedule"],
		"schedule_ms": {"end": now_ms},
		"violations": [{"message": "schedule end 1795000000000 ms is already in the past"}],
	},
}

test_schedule_cases if failing(cases) == set()

test_int_text if {
	every x, want in {0: "0", 7: "7", 999999999: "999999999", 1000000000: "1000000000", 1795000000007: "1795000000007"} {
		data.switchyard.lib.int_text(x) == want
	}
}
