# data_access: each data class must be reachable by one of the intent's
# services, and a restricted class only by the teams allowed to use it.
# Unknown data classes are reported by the catalog policy, not here.
package switchyard.data_access

import data.switchyard.lib

violations contains v if {
	some c in lib.known_data_classes
	not touched_by_a_service(c)
	v := {
		"code": "data_access",
		"policy": "data_access",
		"data_class": c,
		"message": concat("", [
			"data class ", c, " may not be accessed by any of this intent's services (",
			lib.join(lib.services), ")",
		]),
	}
}

violations contains v if {
	some c in lib.known_data_classes
	lib.sensitivity(c) == "restricted"
	teams := lib.catalog.data_classes[c].teams
	not team_allowed(teams, owner)
	v := {
		"code": "data_access",
		"policy": "data_access",
		"data_class": c,
		"message": restricted_message(c, teams),
	}
}

owner := object.get(lib.intent, "owner", "")

touched_by_a_service(c) if {
	some s in lib.known_services
	c in lib.catalog.services[s].data_classes
}

# teams: "any" (everybody), "none" (nobody) or a list of team names.
team_allowed(teams, _) if teams == "any"

team_allowed(teams, team) if {
	is_array(teams)
	team in teams
}

restricted_message(c, teams) := concat("", [
	"data class ", c, " is restricted to team(s) ", lib.join(teams),
	"; owner team ", owner, " is not one of them",
]) if {
	is_array(teams)
	count(teams) > 0
} else := concat("", ["data class ", c, " is restricted and no team may use it in experiments"])
