"""Network provisioning: `network.request_provisioning`, `cancel_provisioning`, `activate_service` over REST."""
