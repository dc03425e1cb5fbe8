"""The CRM system: `crm.upsert_customer` over REST."""
