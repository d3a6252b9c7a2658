package finops_soar.action_test

import data.finops_soar.action

guardrails := {"protectedRoutes": ["core", "risk", "fraud"], "sensitiveRoutes": ["risk", "summarize"], "protectedTenants": ["internal"]}

route_target(route, tenant) := {"kind": "route", "key": sprintf("route=%s,tenant=%s", [route, tenant]), "labels": {"route": route, "tenant": tenant}}

question(name, target, params) := {"action": name, "target": target, "params": params, "severity": "S2", "guardrails": guardrails}

rules(decision) := {denial.rule | some denial in decision.denials}

test_a_harmless_change_is_allowed if {
	decision := action.decision with input as question("gateway.setRoutePolicy", route_target("chat", "acme"), {"policy": {"maxInputTokens": 4096}})
	decision == {"allowed": true, "denials": [], "reason": "no policy refuses gateway.setRoutePolicy on route=chat,tenant=acme"}
}

test_throttling_tiering_or_breaking_a_protected_route_is_refused_naming_the_fields if {
	decision := action.decision with input as question(
		"gateway.setRoutePolicy", route_target("core", "acme"),
		{"policy": {"circuit": {"state": "open", "failMode": "closed"}, "rateLimitRps": 5, "cacheMode": "aggressive"}},
	)
	decision.allowed == false
	decision.reason == "route core is protected (engine.protectedRoutes): it is never throttled, tiered or circuit-broken, so rateLimitRps, circuit stays as it is"
}

test_a_protected_route_named_in_params_is_refused_too if {
	decision := action.decision with input as question("gateway.setRoutePolicy", {"kind": "deployment", "key": "namespace=llm,deployment=vllm", "labels": {"namespace": "llm", "deployment": "vllm"}}, {"route": "fraud", "policy": {"modelTier": "distilled"}})
	rules(decision) == {"protected_route"}
}

test_a_protected_route_may_be_cached_or_prioritised if {
	action.decision.allowed with input as question("gateway.setRoutePolicy", route_target("core", "acme"), {"policy": {"priority": 10, "cacheMode": "aggressive"}})
}

test_the_default_protected_routes_apply_when_the_caller_sends_none if {
	decision := action.decision with input as {"action": "gateway.setRoutePolicy", "target": route_target("risk", "acme"), "params": {"policy": {"rateLimitRps": 1}}}
	rules(decision) == {"protected_route"}
}

test_the_quota_of_a_protected_tenant_is_never_changed if {
	decision := action.decision with input as question("gateway.setTenantQuota", {"kind": "tenant", "key": "tenant=internal", "labels": {"tenant": "internal"}}, {"quota": {"tokensPerDay": 1000}})
	decision.reason == "tenant internal is protected (engine.protectedTenants): its traffic is never quota-limited, so its quota stays as it is"
}

test_the_quota_of_a_tenant_alerting_on_a_protected_route_is_never_changed if {
	decision := action.decision with input as question("gateway.setTenantQuota", route_target("fraud", "acme"), {"quota": {"costPerDayUsd": 100}})
	decision.reason == "route fraud is protected (engine.protectedRoutes): its traffic is never quota-limited, so the quota of tenant acme, whose alert is about route fraud, stays as it is"
}

test_the_quota_of_an_ordinary_tenant_may_be_set if {
	action.decision.allowed with input as question("gateway.setTenantQuota", route_target("chat", "acme"), {"quota": {"costPerDayUsd": 100}})
}

test_opening_a_sensitive_circuit_needs_fail_mode_closed if {
	open := action.decision with input as question("gateway.setRoutePolicy", route_target("summarize", "acme"), {"policy": {"circuit": {"state": "open", "failMode": "open"}}})
	rules(open) == {"sensitive_fail_open"}
	startswith(open.reason, "route summarize is sensitive (engine.sensitiveRoutes)")
	action.decision.allowed with input as question("gateway.setRoutePolicy", route_target("summarize", "acme"), {"policy": {"circuit": {"state": "open", "failMode": "closed"}}})
	action.decision.allowed with input as question("gateway.setRoutePolicy", route_target("summarize", "acme"), {"policy": {"circuit": {"state": "closed", "failMode": "open"}}})
	action.decision.allowed with input as question("gateway.setRoutePolicy", route_target("chat", "acme"), {"policy": {"circuit": {"state": "open", "failMode": "open"}}})
}

test_a_protected_sensitive_route_gets_both_refusals_sorted_by_message if {
	decision := action.decision with input as question("gateway.setRoutePolicy", route_target("risk", "acme"), {"policy": {"circuit": {"state": "open", "failMode": "open"}}})
	[denial.rule | some denial in decision.denials] == ["protected_route", "sensitive_fail_open"]
}

over_quota(name, params) := decision if {
	decision := action.decision with input as object.union(question(name, route_target("chat", "acme"), params), {"usage": {"tokensToday": 1000, "tokensPerDay": 1000}})
}

under_quota(name, params) := decision if {
	decision := action.decision with input as object.union(question(name, route_target("chat", "acme"), params), {"usage": {"tokensToday": 999, "tokensPerDay": 1000}})
}

test_lifting_a_limit_of_a_tenant_at_its_quota_is_refused if {
	decision := over_quota("gateway.setRoutePolicy", {"policy": {"circuit": {"state": "closed", "failMode": "open"}}})
	decision.reason == "tenant acme has used 1000 of its 1000 tokens today (its daily quota): gateway.setRoutePolicy would raise or keep its traffic, so it waits until the quota resets at 00:00 UTC"
	rules(over_quota("gateway.setRoutePolicy", {"policy": {"rateLimitRps": null}})) == {"tenant_over_quota"}
	rules(over_quota("gateway.setRoutePolicy", {"policy": {"maxInputTokens": null}})) == {"tenant_over_quota"}
	rules(over_quota("gateway.setRoutePolicy", {"policy": {"fallbackModel": "small"}})) == {"tenant_over_quota"}
	rules(over_quota("gateway.setTenantQuota", {"quota": {"requestsPerSecond": null}})) == {"tenant_over_quota"}
	rules(over_quota("gateway.setTenantQuota", {"quota": {"tokensPerDay": 1001}})) == {"tenant_over_quota"}
}

test_lifting_a_limit_one_token_under_the_quota_is_allowed if {
	under_quota("gateway.setRoutePolicy", {"policy": {"circuit": {"state": "closed", "failMode": "open"}}}).allowed
	under_quota("gateway.setTenantQuota", {"quota": {"tokensPerDay": 2000}}).allowed
}

test_restricting_a_tenant_at_its_quota_is_allowed if {
	over_quota("gateway.setRoutePolicy", {"policy": {"rateLimitRps": 2}}).allowed
	over_quota("gateway.setRoutePolicy", {"policy": {"maxInputTokens": 4096, "cacheMode": "aggressive"}}).allowed
	over_quota("gateway.setTenantQuota", {"quota": {"tokensPerDay": 1000}}).allowed
	over_quota("gateway.setRoutePolicy", {"policy": {"fallbackModel": null}}).allowed
}

test_a_change_to_a_whole_named_route_is_not_the_tenant_s if {
	over_quota("gateway.setRoutePolicy", {"route": "chat", "policy": {"rateLimitRps": null}}).allowed
}

test_setting_a_quota_on_an_unlimited_tenant_restricts_it if {
	action.decision.allowed with input as object.union(question("gateway.setTenantQuota", route_target("chat", "acme"), {"quota": {"tokensPerDay": 5}}), {"usage": {"tokensToday": 10, "tokensPerDay": null}})
}

test_the_quota_may_come_from_opa_data if {
	decision := action.decision with input as object.union(question("gateway.setRoutePolicy", route_target("chat", "acme"), {"policy": {"rateLimitRps": null}}), {"usage": {"tokensToday": 60}})
		with data.finops_soar.quotas as {"acme": {"tokensPerDay": 50}}
	rules(decision) == {"tenant_over_quota"}
}

test_without_usage_the_quota_refuses_nothing if {
	action.decision.allowed with input as question("gateway.setRoutePolicy", route_target("chat", "acme"), {"policy": {"rateLimitRps": null}})
}

test_actions_on_other_systems_are_allowed if {
	action.decision.allowed with input as question("kubernetes.scaleDeployment", {"kind": "deployment", "key": "namespace=llm,deployment=vllm", "labels": {"namespace": "llm", "deployment": "vllm"}}, {"addReplicas": 2})
}
