"""Switchboard: an omnichannel contact center and ticketing service."""
