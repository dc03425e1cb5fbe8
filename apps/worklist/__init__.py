"""Human work items: inbox, group queues, claim/complete, forms, comments."""
