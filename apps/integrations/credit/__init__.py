"""The credit bureau: `credit.get_score` over REST."""
