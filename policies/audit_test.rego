package switchyard.audit_test

import data.switchyard.fixtures_test.failing

web := {"service": "web", "flag": "f1"}

checkout := {"service": "checkout-api", "flag": "f3"}

payments := {"service": "payments", "flag": "f4"}

recs := {"service": "recommendations", "flag": "f5"}

email := {"service": "email-service", "flag": "f6"}

sre := {"role": "sre", "count": 1}

privacy := {"role": "privacy", "count": 1}

cases := {
	"spec example: critical service asks sre, full audit": {
		"want": {"allow": true, "approvals": [sre], "audit": "full", "retention_days": 400, "max_exposure": 5},
	},
	"standard service, internal data: no approvals, standard audit": {
		"intent": {"services": [web]},
		"want": {"allow": true, "approvals": [], "audit": "standard", "retention_days": 90},
	},
	"two critical services ask sre once": {
		"intent": {"services": [checkout, payments], "data_access": []},
		"want": {"approvals": [sre], "audit": "full"},
	},
	"confidential class asks privacy, full audit": {
		"intent": {"services": [recs], "data_access": ["purchase_history"]},
		"want": {"allow": true, "approvals": [privacy], "audit": "full", "retention_days": 400},
	},
	"critical service and confidential class: both, sorted by role": {
		"intent": {"data_access": ["clickstream", "purchase_history"]},
		"want": {"allow": true, "approvals": [privacy, sre], "audit": "full"},
	},
	"confidential class listed twice asks privacy once": {
		"intent": {"services": [recs], "data_access": ["purchase_history", "purchase_history"]},
		"want": {"approvals": [privacy]},
	},
	"restricted class: full audit without approvals": {
		"intent": {"services": [email], "owner": "crm", "data_access": ["contact_info"]},
		"want": {"allow": true, "approvals": [], "audit": "full", "retention_days": 400},
	},
	"obligations are reported on denied intents too": {
		"intent": {"exposure": 50, "data_access": ["purchase_history"]},
		"want": {"allow": false, "approvals": [privacy, sre], "audit": "full"},
	},
	"unknown services and classes carry no obligations": {
		"intent": {"services": [web, {"service": "ghost", "flag": "g"}], "data_access": ["mystery"]},
		"want": {"allow": false, "approvals": [], "audit": "standard", "retention_days": 90},
	},
}

test_obligation_cases if failing(cases) == set()
