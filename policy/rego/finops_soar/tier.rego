# "Which tier": the model tier a route should be served from, given how fast it burns its budget
# and its p95 latency against its SLO. High burn moves it to a cheaper tier, never to one whose
# latency would break the SLO; protected routes (engine.protectedRoutes) are never tiered.
# policy/builtin-rules.ts makes the same decisions without OPA, with the same messages.
#
# input: {route, currentTier, burnRate, p95LatencyMs, latencySloMs, tierP95LatencyMs: {<tier>: ms}, guardrails}
# burnRate is the route's cost rate over its budget pace (1: spending exactly at pace).
package finops_soar.tier

import data.finops_soar.guardrails

# From the most to the least expensive.
tiers := ["premium", "standard", "distilled"]

# The burn rates from which the route wants each cheaper tier.
standard_from := 1

distilled_from := 2

wanted := "distilled" if {
	input.burnRate >= distilled_from
} else := "standard" if {
	input.burnRate >= standard_from
} else := "premium"

# The current tier's latency is measured; another tier's is what the caller expects of it.
latency(tier) := input.p95LatencyMs if {
	tier == input.currentTier
} else := input.tierP95LatencyMs[tier]

keeps_slo(tier) if latency(tier) <= input.latencySloMs

# The tiers no cheaper than the wanted one that keep the SLO, most expensive first.
eligible := [tier |
	some i, tier in tiers
	some j
	tiers[j] == wanted
	i <= j
	keeps_slo(tier)
]

shown_latency(tier) := sprintf("%v ms", [latency(tier)])

burn := sprintf("burn rate %v wants %s (standard from %v, distilled from %v)", [input.burnRate, wanted, standard_from, distilled_from])

decision := {
	"allowed": false,
	"tier": input.currentTier,
	"reason": sprintf("route %s is protected (engine.protectedRoutes): it is never tiered, so it stays on %s", [input.route, input.currentTier]),
} if {
	input.route in guardrails.protected_routes
} else := {"allowed": true, "tier": chosen, "reason": reason} if {
	count(eligible) > 0
	chosen := eligible[count(eligible) - 1]
	chosen == wanted
	reason := sprintf("%s; its p95 %s keeps the %v ms SLO", [burn, shown_latency(chosen), input.latencySloMs])
} else := {"allowed": true, "tier": chosen, "reason": reason} if {
	count(eligible) > 0
	chosen := eligible[count(eligible) - 1]
	latency(wanted)
	reason := sprintf("%s, but its p95 (%s) would break the %v ms SLO; %s keeps it at %s", [burn, shown_latency(wanted), input.latencySloMs, chosen, shown_latency(chosen)])
} else := {"allowed": true, "tier": chosen, "reason": reason} if {
	count(eligible) > 0
	chosen := eligible[count(eligible) - 1]
	reason := sprintf("%s, but its p95 is not known; %s keeps the %v ms SLO at %s", [burn, chosen, input.latencySloMs, shown_latency(chosen)])
} else := {
	"allowed": true,
	"tier": input.currentTier,
	"reason": sprintf("%s, but no tier from %s up to premium is known to keep the %v ms SLO, so it stays on %s", [burn, wanted, input.latencySloMs, input.currentTier]),
}
