# The engine's guardrail lists (policy/guardrails.ts). The engine sends its own lists in
# input.guardrails, so OPA and the built-in rules judge with the same ones; a caller that sends
# none gets the engine's defaults.
package finops_soar.guardrails

protected_routes := object.get(input, ["guardrails", "protectedRoutes"], ["core", "risk", "fraud"])

sensitive_routes := object.get(input, ["guardrails", "sensitiveRoutes"], [])

protected_tenants := object.get(input, ["guardrails", "protectedTenants"], [])
