package switchyard.naming_test

import data.switchyard.fixtures_test.failing

cases := {
	"spec example key is valid": {"want": {"allow": true, "codes": []}},
	"shortest key (3 characters) is valid": {"intent": {"key": "abc"}, "want": {"allow": true}},
	"digits and hyphens after the first letter are valid": {"intent": {"key": "a1-b2-"}, "want": {"allow": true}},
	"longest key (63 characters) is valid": {
		"intent": {"key": "a23456789-123456789-123456789-123456789-123456789-123456789-123"},
		"want": {"allow": true},
	},
	"key of 64 characters is too long": {
		"intent": {"key": "a23456789-123456789-123456789-123456789-123456789-123456789-1234"},
		"want": {"allow": false, "codes": ["naming"]},
	},
	"key of 2 characters is too short": {"intent": {"key": "ab"}, "want": {"allow": false, "codes": ["naming"]}},
	"empty key": {"intent": {"key": ""}, "want": {"codes": ["naming"]}},
	"uppercase letter": {"intent": {"key": "Checkout-redesign"}, "want": {"codes": ["naming"]}},
	"underscore": {"intent": {"key": "checkout_redesign"}, "want": {"codes": ["naming"]}},
	"starts with a digit": {"intent": {"key": "1checkout"}, "want": {"codes": ["naming"]}},
	"starts with a hyphen": {"intent": {"key": "-checkout"}, "want": {"codes": ["naming"]}},
	"dot": {"intent": {"key": "checkout.v2"}, "want": {"codes": ["naming"]}},
	"non-ASCII letter": {"intent": {"key": "café-test"}, "want": {"codes": ["naming"]}},
	"trailing newline": {"intent": {"key": "checkout\n"}, "want": {"codes": ["naming"]}},
	"message names the key": {
		"intent": {"key": "Bad_Key"},
		"violations": [{"code": "naming", "policy": "naming", "message_contains": "\"Bad_Key\""}],
	},
}

test_naming_cases if failing(cases) == set()
