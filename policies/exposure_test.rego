package switchyard.exposure_test

import data.switchyard.fixtures_test.failing

web := {"service": "web", "flag": "f1"}

search := {"service": "search", "flag": "f2"}

checkout := {"service": "checkout-api", "flag": "f3"}

payments := {"service": "payments", "flag": "f4"}

recs := {"service": "recommendations", "flag": "f5"}

cases := {
	"critical service: exposure exactly at the 5% cap": {
		"intent": {"exposure": 5},
		"want": {"allow": true, "max_exposure": 5},
	},
	"critical service: exposure just above the cap": {
		"intent": {"exposure": 5.01},
		"want": {"allow": false, "codes": ["max_exposure"], "max_exposure": 5},
		"violations": [{
			"code": "max_exposure", "policy": "exposure", "service": "checkout-api",
			"message": "exposure 5.01% is above the 5% cap of critical service checkout-api",
		}],
	},
	"spec message example": {
		"intent": {"exposure": 10},
		"violations": [{"message": "exposure 10% is above the 5% cap of critical service checkout-api"}],
	},
	"standard service: exactly at the 50% cap": {
		"intent": {"services": [web], "exposure": 50},
		"want": {"allow": true, "max_exposure": 50},
	},
	"standard service: above the 50% cap": {
		"intent": {"services": [web], "exposure": 50.5},
		"want": {"codes": ["max_exposure"]},
		"violations": [{"service": "web", "message": "exposure 50.5% is above the 50% cap of standard service web"}],
	},
	"experimental service: 100% allowed": {
		"intent": {"services": [recs], "exposure": 100, "layer": "solo"},
		"want": {"allow": true, "max_exposure": 100},
	},
	"lowest cap wins: experimental + standard": {
		"intent": {"services": [recs, web], "exposure": 60},
		"want": {"codes": ["max_exposure"], "max_exposure": 50},
		"violations": [{"service": "web"}],
	},
	"tie between standard services names the first alphabetically": {
		"intent": {"services": [web, search], "exposure": 60},
		"want": {"codes": ["max_exposure"], "max_exposure": 50},
		"violations": [{"service": "search"}],
	},
	"tie between critical services: a single violation": {
		"intent": {"services": [payments, checkout], "exposure": 6},
		"want": {"codes": ["max_exposure"], "max_exposure": 5},
		"violations": [{"service": "checkout-api"}],
	},
	"unknown services do not lower the limit": {
		"intent": {"services": [recs, {"service": "ghost", "flag": "g"}], "exposure": 80},
		"want": {"codes": ["unknown_service"], "max_exposure": 100},
	},
}

test_exposure_cases if failing(cases) == set()
