package switchyard.data_access_test

import data.switchyard.data_access
import data.switchyard.fixtures_test.failing

web := {"service": "web", "flag": "f1"}

search := {"service": "search", "flag": "f2"}

checkout := {"service": "checkout-api", "flag": "f3"}

payments := {"service": "payments", "flag": "f4"}

email := {"service": "email-service", "flag": "f6"}

cases := {
	"clickstream through web": {"want": {"allow": true, "codes": []}},
	"no data access at all": {"intent": {"data_access": []}, "want": {"allow": true}},
	"query_logs: none of web, checkout-api may touch it": {
		"intent": {"data_access": ["query_logs"]},
		"want": {"allow": false, "codes": ["data_access"]},
		"violations": [{
			"code": "data_access", "policy": "data_access", "data_class": "query_logs",
			"message": "data class query_logs may not be accessed by any of this intent's services (checkout-api, web)",
		}],
	},
	"query_logs through search": {
		"intent": {"services": [search], "data_access": ["query_logs"]},
		"want": {"allow": true},
	},
	"one service out of several may touch the class": {
		"intent": {"data_access": ["clickstream", "purchase_history"]},
		"want": {"allow": true},
	},
	"restricted contact_info, owner crm is allowed": {
		"intent": {"services": [email], "owner": "crm", "data_access": ["contact_info"]},
		"want": {"allow": true},
	},
	"restricted contact_info, owner growth is refused": {
		"intent": {"services": [email], "owner": "growth", "data_access": ["contact_info"]},
		"want": {"allow": false, "codes": ["data_access"]},
		"violations": [{
			"code": "data_access", "data_class": "contact_info",
			"message": "data class contact_info is restricted to team(s) crm; owner team growth is not one of them",
		}],
	},
	"restricted payment_instruments: teams none refuses everybody": {
		"intent": {"services": [payments], "owner": "payments-team", "data_access": ["payment_instruments"], "exposure": 1},
		"want": {"allow": false, "codes": ["data_access"]},
		"violations": [{
			"data_class": "payment_instruments",
			"message": "data class payment_instruments is restricted and no team may use it in experiments",
		}],
	},
	"teams none is not a team called none": {
		"intent": {"services": [payments], "owner": "none", "data_access": ["payment_instruments"], "exposure": 1},
		"want": {"codes": ["data_access"]},
	},
	"both reasons for one class give two violations": {
		"intent": {"services": [web], "owner": "growth", "data_access": ["contact_info"]},
		"want": {"codes": ["data_access", "data_access"]},
		"violations": [
			{"data_class": "contact_info", "message_contains": "not one of them"},
			{"data_class": "contact_info", "message_contains": "may not be accessed by any"},
		],
	},
	"confidential class is not team-restricted": {
		"intent": {"services": [checkout], "owner": "anyone", "data_access": ["purchase_history"]},
		"want": {"allow": true},
	},
}

test_data_access_cases if failing(cases) == set()

# The teams field of a data class: "any", "none" or a list of teams.
team_cases := [
	{"teams": "any", "owner": "growth", "allowed": true},
	{"teams": ["crm"], "owner": "crm", "allowed": true},
	{"teams": ["crm", "growth"], "owner": "growth", "allowed": true},
	{"teams": ["crm"], "owner": "growth", "allowed": false},
	{"teams": [], "owner": "growth", "allowed": false},
	{"teams": "none", "owner": "none", "allowed": false},
]

test_team_allowed if {
	every c in team_cases {
		allowed(c) == c.allowed
	}
}

allowed(c) if data_access.team_allowed(c.teams, c.owner)

default allowed(_) := false

test_restricted_class_open_to_any_team if {
	d := data.switchyard.decision with input as data.switchyard.fixtures_test.build({
		"intent": {"services": [email], "owner": "growth", "data_access": ["contact_info"]},
	})
		with data.switchyard.catalog.data_classes.contact_info.teams as "any"
	d.allow
}
