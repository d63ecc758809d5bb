package switchyard.catalog_test

import data.switchyard.fixtures_test.failing

cases := {
	"known services and data classes": {"want": {"allow": true, "codes": []}},
	"unknown service": {
		"intent": {"services": [{"service": "web", "flag": "f"}, {"service": "ghost", "flag": "g"}]},
		"want": {"allow": false, "codes": ["unknown_service"]},
		"violations": [{
			"code": "unknown_service", "policy": "catalog", "service": "ghost",
			"message": "service ghost is not in the service catalog",
		}],
	},
	"one violation per unknown service": {
		"intent": {
			"services": [
				{"service": "ghost", "flag": "a"}, {"service": "ghost", "flag": "b"},
				{"service": "phantom", "flag": "c"},
			],
			"data_access": [],
		},
		"want": {"codes": ["unknown_service", "unknown_service"]},
		"violations": [{"service": "ghost"}, {"service": "phantom"}],
	},
	"unknown data class (no data_access violation for it)": {
		"intent": {"data_access": ["clickstream", "secrets"]},
		"want": {"allow": false, "codes": ["unknown_data_class"]},
		"violations": [{
			"code": "unknown_data_class", "policy": "catalog", "data_class": "secrets",
			"message": "data class secrets is not in the data catalog",
		}],
	},
	"no known service: limit is 100 and obligations are empty": {
		"intent": {"services": [{"service": "ghost", "flag": "g"}], "data_access": ["mystery"], "exposure": 100},
		"want": {
			"codes": ["unknown_data_class", "unknown_service"], "max_exposure": 100,
			"approvals": [], "audit": "standard",
		},
	},
}

test_catalog_cases if failing(cases) == set()
