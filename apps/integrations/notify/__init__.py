"""Notifications: `notify.send` (e-mail or SMS) over REST."""
