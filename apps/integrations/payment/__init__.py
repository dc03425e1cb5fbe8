"""The payment gateway: `payment.charge` and `payment.refund` over REST."""
