"""The regulator: `regulator.submit_report` over SOAP (zeep)."""
