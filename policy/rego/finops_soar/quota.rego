# Daily token quota per tenant: how many tokens (input + output) a tenant may use per UTC day.
package finops_soar.quota

# The quota the caller read (input.usage.tokensPerDay, null: unlimited), else the one in OPA data
# (data.finops_soar.quotas.<tenant>.tokensPerDay), so a policy bundle can carry quotas of its own.
tokens_per_day(tenant) := input.usage.tokensPerDay if {
	"tokensPerDay" in object.keys(object.get(input, "usage", {}))
} else := data.finops_soar.quotas[tenant].tokensPerDay

# The tenant has used its whole quota today. Unknown usage or an unlimited quota is not exhausted:
# nothing says so.
exhausted(tenant) if {
	limit := tokens_per_day(tenant)
	is_number(limit)
	input.usage.tokensToday >= limit
}
