package finops_soar.tier_test

import data.finops_soar.tier

guardrails := {"protectedRoutes": ["core", "risk", "fraud"], "sensitiveRoutes": [], "protectedTenants": []}

# Premium is measured at 400 ms; standard would take 300 ms, distilled 200 ms; the SLO is 500 ms.
question(burn) := with_tier_latencies(burn, {"standard": 300, "distilled": 200})

# object.union merges nested objects, so a test that changes the expected latencies builds its own question.
with_tier_latencies(burn, latencies) := {
	"route": "chat", "currentTier": "premium", "burnRate": burn, "p95LatencyMs": 400, "latencySloMs": 500,
	"tierP95LatencyMs": latencies, "guardrails": guardrails,
}

test_burn_under_pace_stays_premium if {
	decision := tier.decision with input as question(0.99)
	decision == {"allowed": true, "tier": "premium", "reason": "burn rate 0.99 wants premium (standard from 1, distilled from 2); its p95 400 ms keeps the 500 ms SLO"}
}

test_burn_at_pace_moves_to_standard if {
	tier.decision.tier == "standard" with input as question(1)
	tier.decision.tier == "standard" with input as question(1.99)
}

test_burn_at_twice_the_pace_moves_to_distilled if {
	tier.decision.tier == "distilled" with input as question(2)
}

test_a_tier_that_would_break_the_slo_is_skipped_for_the_next_dearer_one if {
	decision := tier.decision with input as with_tier_latencies(3, {"standard": 450, "distilled": 650})
	decision.tier == "standard"
	decision.reason == "burn rate 3 wants distilled (standard from 1, distilled from 2), but its p95 (650 ms) would break the 500 ms SLO; standard keeps it at 450 ms"
}

test_a_latency_exactly_at_the_slo_keeps_it if {
	tier.decision.tier == "distilled" with input as with_tier_latencies(3, {"distilled": 500})
	tier.decision.tier == "standard" with input as with_tier_latencies(3, {"standard": 500, "distilled": 501})
}

test_a_tier_of_unknown_latency_is_never_chosen if {
	decision := tier.decision with input as with_tier_latencies(3, {})
	decision.tier == "premium"
	decision.reason == "burn rate 3 wants distilled (standard from 1, distilled from 2), but its p95 is not known; premium keeps the 500 ms SLO at 400 ms"
}

test_when_no_tier_keeps_the_slo_the_route_stays if {
	decision := tier.decision with input as object.union(with_tier_latencies(3, {"standard": 800}), {"p95LatencyMs": 900})
	decision == {"allowed": true, "tier": "premium", "reason": "burn rate 3 wants distilled (standard from 1, distilled from 2), but no tier from distilled up to premium is known to keep the 500 ms SLO, so it stays on premium"}
}

test_a_cheap_route_moves_back_up_when_the_burn_falls if {
	decision := tier.decision with input as object.union(with_tier_latencies(0.5, {"premium": 400}), {"currentTier": "distilled", "p95LatencyMs": 200})
	decision.tier == "premium"
}

test_a_protected_route_is_never_tiered if {
	decision := tier.decision with input as object.union(question(5), {"route": "fraud"})
	decision == {"allowed": false, "tier": "premium", "reason": "route fraud is protected (engine.protectedRoutes): it is never tiered, so it stays on premium"}
}

test_the_default_protected_routes_apply_when_the_caller_sends_none if {
	tier.decision.allowed == false with input as object.remove(object.union(question(5), {"route": "core"}), ["guardrails"])
}
