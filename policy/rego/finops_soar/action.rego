# "May this action run on this target": the engine's guardrails (policy/guardrails.ts) and the daily
# token quota, for a change a playbook is about to apply. policy/builtin-rules.ts makes the same decisions
# without OPA, with the same messages; test/integration/opa.test.ts holds the two to it.
#
# input: {action, target: {kind, key, labels}, params, severity, guardrails, usage?: {tokensToday, tokensPerDay}}
# The params are the ones the action would apply (the circuit's fail mode already set by the engine).
package finops_soar.action

import data.finops_soar.guardrails
import data.finops_soar.quota

# Patch fields that restrict a route's traffic, in the order policy/guardrails.ts names them.
restrictive_fields := ["rateLimitRps", "modelTier", "circuit"]

params := object.get(input, "params", {})

labels := object.get(input, ["target", "labels"], {})

policy_patch := object.get(params, "policy", {})

quota_patch := object.get(params, "quota", {})

# The route gateway.setRoutePolicy acts on: the one it names, else the target's.
route := params.route if {
	"route" in object.keys(params)
} else := labels.route

deny contains {"rule": "protected_route", "message": message} if {
	input.action == "gateway.setRoutePolicy"
	route in guardrails.protected_routes
	touched := [field | some field in restrictive_fields; field in object.keys(policy_patch)]
	count(touched) > 0
	message := sprintf("route %s is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so %s stays as it is", [route, concat(", ", touched)])
}

deny contains {"rule": "protected_tenant", "message": message} if {
	input.action == "gateway.setTenantQuota"
	tenant := labels.tenant
	tenant in guardrails.protected_tenants
	message := sprintf("tenant %s is protected (engine.protectedTenants): its traffic is never quota-limited, so its quota stays as it is", [tenant])
}

deny contains {"rule": "protected_tenant", "message": message} if {
	input.action == "gateway.setTenantQuota"
	tenant := labels.tenant
	not tenant in guardrails.protected_tenants
	labels.route in guardrails.protected_routes
	message := sprintf("route %s is protected (engine.protectedRoutes): its traffic is never quota-limited, so the quota of tenant %s, whose alert is about route %s, stays as it is", [labels.route, tenant, labels.route])
}

deny contains {"rule": "sensitive_fail_open", "message": message} if {
	input.action == "gateway.setRoutePolicy"
	route in guardrails.sensitive_routes
	policy_patch.circuit.state == "open"
	object.get(policy_patch.circuit, "failMode", "open") != "closed"
	message := sprintf("route %s is sensitive (engine.sensitiveRoutes): its circuit opens only with failMode closed, so that requests are refused rather than let through unchecked; set policy.circuit.failMode to closed", [route])
}

deny contains {"rule": "tenant_over_quota", "message": message} if {
	tenant := labels.tenant
	sustains_traffic
	quota.exhausted(tenant)
	message := sprintf("tenant %s has used %v of its %v tokens today (its daily quota): %s would raise or keep its traffic, so it waits until the quota resets at 00:00 UTC", [tenant, input.usage.tokensToday, quota.tokens_per_day(tenant), input.action])
}

# A change that raises or keeps a tenant's traffic: on the tenant's own scope of a route, it closes
# the circuit, lifts (or removes the tenant's) rate limit or input cap, or adds a fallback model;
# on its quota, it makes a limit unlimited or raises the daily token quota.
sustains_traffic if {
	input.action == "gateway.setRoutePolicy"
	not "route" in object.keys(params)
	lifts_route_limit
}

sustains_traffic if {
	input.action == "gateway.setTenantQuota"
	some value in quota_patch
	value == null
}

sustains_traffic if {
	input.action == "gateway.setTenantQuota"
	current := quota.tokens_per_day(labels.tenant)
	is_number(current)
	quota_patch.tokensPerDay > current
}

lifts_route_limit if policy_patch.circuit.state == "closed"

lifts_route_limit if {
	some field in ["rateLimitRps", "maxInputTokens"]
	field in object.keys(policy_patch)
	policy_patch[field] == null
}

lifts_route_limit if is_string(policy_patch.fallbackModel)

denials := [denial | some denial in deny]

decision := {"allowed": true, "denials": [], "reason": sprintf("no policy refuses %s on %s", [input.action, input.target.key])} if {
	count(deny) == 0
} else := {"allowed": false, "denials": denials, "reason": concat("; ", [denial.message | some denial in denials])}
