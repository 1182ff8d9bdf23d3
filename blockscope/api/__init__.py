"""HTTP routes: thin adapters from query strings to the service layer."""
