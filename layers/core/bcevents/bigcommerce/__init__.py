"""BigCommerce: the REST client (the only code that talks to a store) and the endpoint planner."""
