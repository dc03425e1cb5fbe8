"""The billing system: `billing.create_account`, `cancel_account`, `post_payment` over SOAP (zeep)."""
