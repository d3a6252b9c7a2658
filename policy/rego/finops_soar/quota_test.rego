package finops_soar.quota_test

import data.finops_soar.quota

test_quota_from_input_wins_over_data if {
	quota.tokens_per_day("acme") == 1000 with input as {"usage": {"tokensToday": 5, "tokensPerDay": 1000}}
		with data.finops_soar.quotas as {"acme": {"tokensPerDay": 50}}
}

test_quota_from_data_when_input_has_none if {
	quota.tokens_per_day("acme") == 50 with input as {"usage": {"tokensToday": 5}}
		with data.finops_soar.quotas as {"acme": {"tokensPerDay": 50}}
}

test_null_in_input_is_unlimited_even_with_data if {
	quota.tokens_per_day("acme") == null with input as {"usage": {"tokensToday": 5, "tokensPerDay": null}}
		with data.finops_soar.quotas as {"acme": {"tokensPerDay": 50}}
	not quota.exhausted("acme") with input as {"usage": {"tokensToday": 5, "tokensPerDay": null}}
		with data.finops_soar.quotas as {"acme": {"tokensPerDay": 50}}
}

test_one_token_under_the_quota_is_not_exhausted if {
	not quota.exhausted("acme") with input as {"usage": {"tokensToday": 999, "tokensPerDay": 1000}}
}

test_exactly_the_quota_is_exhausted if {
	quota.exhausted("acme") with input as {"usage": {"tokensToday": 1000, "tokensPerDay": 1000}}
}

test_over_the_quota_from_data_is_exhausted if {
	quota.exhausted("acme") with input as {"usage": {"tokensToday": 51}}
		with data.finops_soar.quotas as {"acme": {"tokensPerDay": 50}}
}

test_unknown_usage_or_quota_is_not_exhausted if {
	not quota.exhausted("acme") with input as {"usage": {"tokensPerDay": 1000}}
	not quota.exhausted("acme") with input as {"usage": {"tokensToday": 10000}}
	not quota.exhausted("acme") with input as {}
}
