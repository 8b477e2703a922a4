"""The platform's reference Dash app (docs/dash.md): churn by contract type from the analytics database."""
